using System.Diagnostics;
using System.Globalization;
using Grpc.Core;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>Membership changes the operator chose: a silo joins and another leaves (SIGTERM) while the cluster is under load.</summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class JoinLeaveTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ClusterHarness _cluster = ClusterHarness.Create(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task JoinThenGracefulLeave_UnderLoad_NoCallFailsAndNothingIsLost()
    {
        var silos = await _cluster.StartSilosAsync(2);
        var rotation = new SiloRotation(silos);
        await using var load = new LoadDriver(_cluster, rotation);
        await load.StartAsync(TimeSpan.FromSeconds(30));
        await load.WaitForCallsAsync(40);

        var joined = await _cluster.StartSiloAsync();
        rotation.Add(joined);
        output.WriteLine(ClusterHarness.Now() + " " + joined.Name + " joined at +" + load.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s");
        await load.WaitForCallsAsync(60);
        var leaver = silos[0];
        await rotation.DrainAsync(leaver, TimeSpan.FromSeconds(15));
        var leaving = Stopwatch.StartNew();
        var exitCode = await leaver.StopAsync(TimeSpan.FromSeconds(40));
        output.WriteLine(ClusterHarness.Now() + " " + leaver.Name + " left in " + leaving.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s, exit code " + exitCode);
        await _cluster.WaitForActiveMembersAsync(2, TimeSpan.FromSeconds(20));
        load.Mark();
        var allReporting = await Poll.UntilAsync(() => Task.FromResult(load.Vehicles.All(v => v.FirstAckAfterMark is not null)), TimeSpan.FromSeconds(20));
        await load.WaitForCallsAsync(60);
        var undelivered = await load.UndeliveredAsync(load.AcceptedCommands, TimeSpan.FromSeconds(10));
        await load.StopAsync();
        var durable = load.Vehicles.ToDictionary(v => v.Vin, v => v.HighestDurableAcked);
        var running = _cluster.Running;
        var missing = await Verify.MissingCommandsAsync(_cluster, running, load.AcceptedCommands);
        var regressed = await Verify.DurableRegressionsAsync(_cluster, running, durable);
        var lost = await Verify.LostReportsAsync(_cluster, running, load.Vehicles.ToDictionary(v => v.Vin, v => v.HighestAcked));
        output.WriteLine(load.Summary());

        // A stream on the leaving silo may end, cleanly (UNAVAILABLE tells the vehicle to reconnect elsewhere); no other may.
        var badEnds = load.Vehicles.SelectMany(v => v.StreamEnds.Select(e => (v.Vin, End: e)))
            .Where(x => !x.End.WhileStopping && !(x.End.Silo == leaver.Name && x.End.Status is StatusCode.Unavailable or StatusCode.OK))
            .Select(x => x.Vin + " " + x.End);
        var expect = new Expectations(_cluster, load);
        expect.None(load.Failures, "failed unary calls");
        expect.None(badEnds, "streams that ended other than by a clean re-route off the leaving silo");
        expect.None(load.Vehicles.SelectMany(v => v.Problems.Select(p => v.Vin + " " + p)), "vehicle problems");
        expect.None(missing, "accepted commands not found");
        expect.None(undelivered, "accepted commands not delivered to their (connected) vehicle within 10 s");
        expect.None(regressed, "durable sequences below what was acknowledged");
        expect.None(lost, "acknowledged reports missing from the state after the hand-overs (state not flushed)");
        expect.That(allReporting, "not every vehicle had a report acked after the leave");
        expect.That(load.CallsBySilo.GetValueOrDefault(joined.Name) > 0, "no operator call went through the joined silo");
        expect.That(exitCode == 0, "the leaving silo exited with code " + exitCode + ", not 0");
        expect.Assert();
    }
}
