using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vehicles.Api.V1;
using Vehicles.Grains;

namespace Vehicles.Redis.Tests;

/// <summary>
/// A Redis server of its own, stopped and started again while two "silos" (two connections) use it: the Redis
/// features fail fast while it is down and come back without anyone reconnecting them.
/// </summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private const double Latitude = 48.137;
    private const double Longitude = 11.575;
    private static readonly TimeSpan _deadline = TimeSpan.FromSeconds(30);

    private readonly string _prefix = TestServers.UniqueName("outage-");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "vehicles-redis-outage-" + Guid.NewGuid().ToString("N"));
    private readonly int _port = FreePort();
    private Process? _server;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        await StartServerAsync();
    }

    public async Task DisposeAsync()
    {
        await StopServerAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task RedisRestart_GeoAndEventsFailFastWhileDown_AndRecoverByThemselves()
    {
        using var siloA = await RedisConnector.ConnectAsync($"127.0.0.1:{_port},connectTimeout=1000");
        using var siloB = await RedisConnector.ConnectAsync($"127.0.0.1:{_port},connectTimeout=1000");
        var options = Options.Create(new RedisOptions { KeyPrefix = _prefix, OperationTimeout = TimeSpan.FromSeconds(1) });
        await using var geo = new RedisGeoIndex(siloA, options, TimeProvider.System, NullLogger<RedisGeoIndex>.Instance);
        await using var publisher = new RedisVehicleEventBus(siloA, Options.Create(new VehicleGrainOptions()), options, NullLogger<RedisVehicleEventBus>.Instance);
        await using var watcher = new RedisVehicleEventBus(siloB, Options.Create(new VehicleGrainOptions()), options, NullLogger<RedisVehicleEventBus>.Instance);
        using var watch = watcher.SubscribeVehicle("VIN1");
        await watch.Ready;

        geo.UpdatePosition("fleet-1", "VIN1", Latitude, Longitude);
        await geo.FlushAsync();
        var before = await geo.NearbyAsync("fleet-1", Latitude, Longitude, 1, 10, CancellationToken.None);
        publisher.Publish("VIN1", "fleet-1", Event(1));
        var beforeEvent = await NextVersionAsync(watch);

        await StopServerAsync();
        var down = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<FeatureUnavailableException>(
            () => geo.NearbyAsync("fleet-1", Latitude, Longitude, 1, 10, CancellationToken.None));
        var failedAfter = down.Elapsed;
        for (var version = 2UL; version <= 10; version++)
        {
            publisher.Publish("VIN1", "fleet-1", Event(version));
        }

        await StartServerAsync();

        // Redis lost everything (no persistence): positions come back with the next updates, events with the next publish.
        var recovered = await EventuallyAsync(async () =>
        {
            geo.UpdatePosition("fleet-1", "VIN1", Latitude, Longitude);
            await geo.FlushAsync();
            try
            {
                return (await geo.NearbyAsync("fleet-1", Latitude, Longitude, 1, 10, CancellationToken.None)).Count == 1;
            }
            catch (FeatureUnavailableException)
            {
                return false;
            }
        });
        var eventAfter = await EventuallyAsync(() =>
        {
            publisher.Publish("VIN1", "fleet-1", Event(100));
            return Task.FromResult(watch.Reader.TryRead(out var received) && received.Vehicle.StateVersion == 100);
        });

        Assert.Equal("VIN1", Assert.Single(before).Vin);
        Assert.Equal(1UL, beforeEvent);
        Assert.Equal(RedisGeoIndex.FeatureName, failure.Feature);
        Assert.True(failedAfter < TimeSpan.FromSeconds(5), $"a geo query while Redis is down failed after {failedAfter}, not fast");
        Assert.True(publisher.DroppedCount > 0);
        Assert.True(recovered, "geo queries did not recover after Redis came back");
        Assert.True(eventAfter, "events did not reach the other silo again after Redis came back");
    }

    [Fact]
    public async Task SubscribeVehicle_WhileRedisIsDown_ReceivesRemoteEventsOnceRedisIsBack()
    {
        using var siloA = await RedisConnector.ConnectAsync($"127.0.0.1:{_port},connectTimeout=1000");
        using var siloB = await RedisConnector.ConnectAsync($"127.0.0.1:{_port},connectTimeout=1000");
        var options = Options.Create(new RedisOptions { KeyPrefix = _prefix, OperationTimeout = TimeSpan.FromSeconds(1) });
        await using var publisher = new RedisVehicleEventBus(siloA, Options.Create(new VehicleGrainOptions()), options, NullLogger<RedisVehicleEventBus>.Instance);
        await using var watcher = new RedisVehicleEventBus(siloB, Options.Create(new VehicleGrainOptions()), options, NullLogger<RedisVehicleEventBus>.Instance);
        await StopServerAsync();
        var disconnected = await EventuallyAsync(() => Task.FromResult(!siloB.IsConnected));

        using var watch = watcher.SubscribeVehicle("VIN1");
        var ready = Stopwatch.StartNew();
        await watch.Ready;
        var readyAfter = ready.Elapsed;
        await StartServerAsync();
        var eventAfter = await EventuallyAsync(() =>
        {
            publisher.Publish("VIN1", "fleet-1", Event(7));
            return Task.FromResult(watch.Reader.TryRead(out var received) && received.Vehicle.StateVersion == 7);
        });

        Assert.True(disconnected, "the connection did not notice that Redis stopped");
        Assert.True(readyAfter < TimeSpan.FromSeconds(5), $"a subscription while Redis is down became ready after {readyAfter}, not fast");
        Assert.True(eventAfter, "a subscription made while Redis was down was not restored when Redis came back");
    }

    private static VehicleEvent Event(ulong version) => new() { Vehicle = new Vehicle { Vin = "VIN1", FleetId = "fleet-1", StateVersion = version } };

    private static async Task<ulong> NextVersionAsync(VehicleEventSubscription subscription)
    {
        using var timeout = new CancellationTokenSource(_deadline);
        return (await subscription.Reader.ReadAsync(timeout.Token)).Vehicle.StateVersion;
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < _deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task StartServerAsync()
    {
        _server = Process.Start(new ProcessStartInfo("redis-server", ["--port", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("redis-server did not start (scripts/servers.sh installs it)");
        _server.OutputDataReceived += (_, _) => { };
        _server.ErrorDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        var ready = await EventuallyAsync(async () =>
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, _port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        });
        Assert.True(ready, "the private redis-server did not listen on port " + _port);
    }

    private async Task StopServerAsync()
    {
        if (_server is null)
        {
            return;
        }

        _server.Kill();
        await _server.WaitForExitAsync();
        _server.Dispose();
        _server = null;
    }
}
