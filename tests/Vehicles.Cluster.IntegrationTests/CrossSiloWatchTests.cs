using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Vehicles.Api.V1;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>Three silos, started once for the watch tests.</summary>
public sealed class ThreeSiloCluster : IAsyncLifetime
{
    public ClusterHarness Harness { get; } = ClusterHarness.Create(null);

    public IReadOnlyList<SiloProcess> Silos { get; private set; } = [];

    public async Task InitializeAsync() => Silos = await Harness.StartSilosAsync(3);

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>
/// A watch on any silo sees the changes of a vehicle whatever silo owns its grain: with a watch open on each of three
/// silos, at least two of them watch a vehicle owned elsewhere.
/// </summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class CrossSiloWatchTests(ThreeSiloCluster cluster, ITestOutputHelper output) : IClassFixture<ThreeSiloCluster>
{
    private static readonly TimeSpan _seeWithin = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task WatchVehicle_OnEverySilo_SeesOneReportMadeThroughAnotherPath()
    {
        var vin = cluster.Harness.Vin(900);
        output.WriteLine("silo logs in " + cluster.Harness.LogDirectory);
        await ReportAsync(cluster.Silos[0], vin, 1, speed: 10);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = cluster.Harness.OperatorToken();
        var watches = cluster.Silos.Select(s => new ApiClient(s.Invoker, token).WatchVehicle(vin, stop.Token)).ToList();
        try
        {
            var initial = await Task.WhenAll(watches.Select(w => NextAsync(w, e => e.KindCase == VehicleEvent.KindOneofCase.Vehicle, stop.Token)));

            await ReportOnNewChannelAsync(cluster.Silos[2], vin, 2, speed: 77);
            var seen = await Task.WhenAll(watches.Select(w => NextAsync(w, e => e.Vehicle?.Signals?.Speed == 77, stop.Token)));

            for (var i = 0; i < watches.Count; i++)
            {
                output.WriteLine(cluster.Silos[i].Name + ": state_version " + initial[i]?.Vehicle.StateVersion + " -> " + seen[i]?.Vehicle.StateVersion);
                new Expectations(cluster.Harness).Require(initial[i] is not null, "the watch on " + cluster.Silos[i].Name + " sent no initial state within " + _seeWithin);
                new Expectations(cluster.Harness).Require(seen[i] is not null, "the watch on " + cluster.Silos[i].Name + " did not see the report within " + _seeWithin);
                Assert.Equal(vin, seen[i]!.Vehicle.Vin);
                Assert.True(seen[i]!.Vehicle.StateVersion > initial[i]!.Vehicle.StateVersion);
            }
        }
        finally
        {
            await stop.CancelAsync();
            watches.ForEach(w => w.Dispose());
        }
    }

    [Fact]
    public async Task WatchFleet_OnEverySilo_SeesAReportAfterItsSubscriptionIsLive()
    {
        var vin = cluster.Harness.Vin(901);
        output.WriteLine("silo logs in " + cluster.Harness.LogDirectory);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = cluster.Harness.OperatorToken();
        var request = new WatchFleetRequest { FleetId = ClusterHarness.Fleet, MinInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) };
        var watches = cluster.Silos.Select(s => new ApiClient(s.Invoker, token).WatchFleet(request, stop.Token)).ToList();
        try
        {
            // A fleet watch sends no initial state: reports go on until every watch has shown one, which proves its subscription live.
            var first = watches.Select(w => NextAsync(w, u => u.Vehicle?.Vin == vin, stop.Token)).ToList();
            ulong sequence = 0;
            for (var i = 0; i < 50 && !first.All(t => t.IsCompleted); i++)
            {
                await ReportAsync(cluster.Silos[i % cluster.Silos.Count], vin, ++sequence, speed: i);
                await Task.WhenAny(Task.WhenAll(first), Task.Delay(TimeSpan.FromMilliseconds(200), stop.Token));
            }

            var live = await Task.WhenAll(first);
            new Expectations(cluster.Harness).Require(live.All(u => u is not null), "not every fleet watch showed an update within 50 reports");

            await ReportOnNewChannelAsync(cluster.Silos[1], vin, ++sequence, speed: 188);
            var seen = await Task.WhenAll(watches.Select(w => NextAsync(w, u => u.Vehicle?.Signals?.Speed == 188, stop.Token)));

            for (var i = 0; i < watches.Count; i++)
            {
                new Expectations(cluster.Harness).Require(seen[i] is not null, "the fleet watch on " + cluster.Silos[i].Name + " did not see the report within " + _seeWithin);
                Assert.Equal(vin, seen[i]!.Vehicle.Vin);
            }
        }
        finally
        {
            await stop.CancelAsync();
            watches.ForEach(w => w.Dispose());
        }
    }

    private async Task ReportAsync(SiloProcess silo, string vin, ulong sequence, double speed)
    {
        var request = new ReportRequest
        {
            Vin = vin,
            Status = new StatusReport { Sequence = sequence, CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow), Signals = new Signals { Speed = speed } },
        };
        var response = await new ApiClient(silo.Invoker, cluster.Harness.VehicleToken(vin)).ReportAsync(request);
        Assert.Equal(sequence, response.Ack.Sequence);
    }

    /// <summary>The report travels on a channel of its own, apart from the connections the watches use.</summary>
    private async Task ReportOnNewChannelAsync(SiloProcess silo, string vin, ulong sequence, double speed)
    {
        using var channel = GrpcChannel.ForAddress("http://" + silo.Endpoint);
        var request = new ReportRequest
        {
            Vin = vin,
            Status = new StatusReport { Sequence = sequence, CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow), Signals = new Signals { Speed = speed } },
        };
        var response = await new ApiClient(channel.CreateCallInvoker(), cluster.Harness.VehicleToken(vin)).ReportAsync(request);
        Assert.Equal(sequence, response.Ack.Sequence);
    }

    /// <summary>The next message matching <paramref name="match"/> within <see cref="_seeWithin"/>, or null.</summary>
    private static async Task<T?> NextAsync<T>(AsyncServerStreamingCall<T> watch, Func<T, bool> match, CancellationToken cancellationToken)
        where T : class
    {
        using var within = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        within.CancelAfter(_seeWithin);
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                if (!await watch.ResponseStream.MoveNext(within.Token))
                {
                    return null;
                }

                if (match(watch.ResponseStream.Current))
                {
                    return watch.ResponseStream.Current;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException)
        {
            // Not seen in time, or the watch ended: the caller fails with a message naming the silo.
        }

        return null;
    }
}
