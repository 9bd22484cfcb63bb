using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Vehicles.Api.V1;
using Vehicles.Grains;

namespace Vehicles.Redis.Tests;

public sealed class RedisVehicleEventBusTests : IAsyncLifetime
{
    private static readonly TimeSpan _receiveTimeout = TimeSpan.FromSeconds(10);

    private readonly string _prefix = TestServers.UniqueName("redis-test-");
    private readonly List<IAsyncDisposable> _disposables = [];
    private ConnectionMultiplexer _redisA = null!;
    private ConnectionMultiplexer _redisB = null!;

    public async Task InitializeAsync()
    {
        // Two connections, as two silos would have.
        _redisA = await RedisConnector.ConnectAsync(TestServers.Redis);
        _redisB = await RedisConnector.ConnectAsync(TestServers.Redis);
    }

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        _redisA.Dispose();
        _redisB.Dispose();
    }

    [Fact]
    public async Task Publish_OnOneSilo_ReachesVehicleFleetAndAllFleetSubscribersOnAnotherSiloOnce()
    {
        var siloA = CreateBus(_redisA);
        var siloB = CreateBus(_redisB);
        using var byVin = siloB.SubscribeVehicle("VIN1");
        using var byFleet = siloB.SubscribeFleet("fleet-1");
        using var all = siloB.SubscribeFleet(IVehicleEventBus.AllFleets);
        using var otherFleet = siloB.SubscribeFleet("fleet-2");
        await siloB.WaitForRedisSubscriptionsAsync();

        siloA.Publish("VIN1", "fleet-1", Event("VIN1", "fleet-1", 1));
        siloA.Publish("VIN1", "fleet-1", Event("VIN1", "fleet-1", 2));
        siloA.Publish("VIN9", "fleet-2", Event("VIN9", "fleet-2", 3));

        // A duplicate would show up as version 1 twice before version 2 (Redis keeps one publisher's order).
        Assert.Equal([1UL, 2UL], await ReceiveVersionsAsync(byVin, 2));
        Assert.Equal([1UL, 2UL], await ReceiveVersionsAsync(byFleet, 2));
        Assert.Equal([1UL, 2UL, 3UL], await ReceiveVersionsAsync(all, 3));
        Assert.Equal([3UL], await ReceiveVersionsAsync(otherFleet, 1));
    }

    [Fact]
    public async Task Publish_WithLocalSubscriber_DeliversOnceAndIgnoresItsOwnEchoFromRedis()
    {
        var siloA = CreateBus(_redisA);
        var siloB = CreateBus(_redisB);
        using var local = siloA.SubscribeVehicle("VIN1");
        using var localFleet = siloA.SubscribeFleet("fleet-1");
        await siloA.WaitForRedisSubscriptionsAsync();

        siloA.Publish("VIN1", "fleet-1", Event("VIN1", "fleet-1", 1));
        await WaitUntilAsync(() => siloA.PublishedCount == 2);
        siloB.Publish("VIN1", "fleet-1", Event("VIN1", "fleet-1", 2));

        // The echo of version 1 reaches silo A before silo B's version 2 does: a second 1 would precede the 2.
        Assert.Equal([1UL, 2UL], await ReceiveVersionsAsync(local, 2));
        Assert.Equal([1UL, 2UL], await ReceiveVersionsAsync(localFleet, 2));
        Assert.Equal(2, siloA.ReceivedCount);
    }

    [Fact]
    public async Task Subscription_WhenDisposed_IsReleasedInRedisOnTheNextEvent()
    {
        var siloA = CreateBus(_redisA);
        var siloB = CreateBus(_redisB);
        var subscription = siloB.SubscribeVehicle("VIN1");
        await siloB.WaitForRedisSubscriptionsAsync();
        var channel = _prefix + ":ev:vin:VIN1";
        var subscribersBefore = await CountSubscribersAsync(channel);

        subscription.Dispose();
        siloA.Publish("VIN1", "fleet-1", Event("VIN1", "fleet-1", 1));
        var released = await WaitUntilAsync(async () => await CountSubscribersAsync(channel) == 0);

        Assert.Equal(1, subscribersBefore);
        Assert.True(released, "silo B kept its Redis subscription after its last local subscriber left");
        Assert.Equal(0, siloB.ReceivedCount);
    }

    [Fact]
    public async Task Publish_WhenRedisIsDown_NeitherThrowsNorBlocksAndStillDeliversLocally()
    {
        using var unreachable = await ConnectToClosedPortAsync();
        var silo = CreateBus(unreachable);
        using var local = silo.SubscribeVehicle("VIN1");

        for (var version = 1UL; version <= 100; version++)
        {
            silo.Publish("VIN1", "fleet-1", Event("VIN1", "fleet-1", version));
        }

        Assert.Equal(100, silo.DroppedCount);
        Assert.Equal(0, silo.PublishedCount);
        Assert.Equal([1UL, 2UL, 3UL], await ReceiveVersionsAsync(local, 3));
        Assert.True(silo.HasSubscribers("VIN1", "fleet-1"));
        Assert.False(silo.HasSubscribers("VIN2", "fleet-1"));
    }

    internal static async Task<ConnectionMultiplexer> ConnectToClosedPortAsync()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return await RedisConnector.ConnectAsync($"127.0.0.1:{port},connectTimeout=500,connectRetry=1");
    }

    internal static async Task<bool> WaitUntilAsync(Func<bool> condition) => await WaitUntilAsync(() => Task.FromResult(condition()));

    internal static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + _receiveTimeout;
        for (var attempt = 0; attempt < 1_000 && DateTime.UtcNow < deadline; attempt++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(10);
        }

        return await condition();
    }

    private RedisVehicleEventBus CreateBus(IConnectionMultiplexer redis)
    {
        var bus = new RedisVehicleEventBus(
            redis,
            Options.Create(new VehicleGrainOptions()),
            Options.Create(new RedisOptions { KeyPrefix = _prefix }),
            NullLogger<RedisVehicleEventBus>.Instance);
        _disposables.Add(bus);
        return bus;
    }

    private async Task<long> CountSubscribersAsync(string channel)
    {
        var reply = (RedisResult[])(await _redisA.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", channel))!;
        return (long)reply[1];
    }

    private static async Task<List<ulong>> ReceiveVersionsAsync(VehicleEventSubscription subscription, int count)
    {
        using var timeout = new CancellationTokenSource(_receiveTimeout);
        var versions = new List<ulong>();
        for (var i = 0; i < count; i++)
        {
            versions.Add((await subscription.Reader.ReadAsync(timeout.Token)).Vehicle.StateVersion);
        }

        return versions;
    }

    private static VehicleEvent Event(string vin, string fleetId, ulong version)
        => new() { Vehicle = new Vehicle { Vin = vin, FleetId = fleetId, StateVersion = version } };
}
