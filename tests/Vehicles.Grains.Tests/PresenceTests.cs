using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;
using Vehicles.Grains.State;

namespace Vehicles.Grains.Tests;

public sealed class PresenceTests
{
    [Fact]
    public async Task OpenSession_MakesVehicleOnline_AndCloseMakesItOffline()
    {
        using var settings = HostSettings.Sqlite();
        await using var host = await GrainsHost.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);

        await vehicle.OpenSessionAsync(Build.Session("s1"));
        var online = await vehicle.GetAsync();
        await vehicle.CloseSessionAsync("s1");
        var offline = await vehicle.GetAsync();

        Assert.Equal(ConnectionState.Online, online!.ConnectionState);
        Assert.Equal(host.Time.GetUtcNow(), online.LastSeenTime.ToDateTimeOffset());
        Assert.Equal(ConnectionState.Offline, offline!.ConnectionState);
        Assert.True(offline.StateVersion > online.StateVersion);
    }

    [Fact]
    public async Task Presence_WhenHeartbeatsStop_GoesOfflineAfterTimeout()
    {
        using var settings = HostSettings.Sqlite();
        settings.ConfigureGrains = o => o.HeartbeatTimeout = TimeSpan.FromSeconds(90);
        await using var host = await GrainsHost.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        using var session = host.Sessions.Register(Build.Vin, "s1");
        await vehicle.OpenSessionAsync(Build.Session("s1"));

        host.Time.Advance(TimeSpan.FromSeconds(60));
        var alive = await vehicle.HeartbeatAsync("s1");
        host.Time.Advance(TimeSpan.FromSeconds(60));
        var afterHeartbeat = await vehicle.GetAsync();
        host.Time.Advance(TimeSpan.FromSeconds(200));
        await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.ConnectionState == ConnectionState.Offline, "heartbeat timeout");
        var staleHeartbeat = await vehicle.HeartbeatAsync("s1");

        Assert.True(alive);
        Assert.Equal(ConnectionState.Online, afterHeartbeat!.ConnectionState);
        Assert.False(staleHeartbeat);
        Assert.Equal(SessionEndReason.HeartbeatTimeout, session.EndReason);
        Assert.True(session.Ended.IsCancellationRequested);
    }

    [Fact]
    public async Task CloseSession_OfAReplacedSession_IsIgnored()
    {
        using var settings = HostSettings.Sqlite();
        await using var host = await GrainsHost.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        await vehicle.OpenSessionAsync(Build.Session("s1"));
        await vehicle.OpenSessionAsync(Build.Session("s2"));

        await vehicle.CloseSessionAsync("s1");
        var oldHeartbeat = await vehicle.HeartbeatAsync("s1");
        var newHeartbeat = await vehicle.HeartbeatAsync("s2");

        Assert.Equal(ConnectionState.Online, (await vehicle.GetAsync())!.ConnectionState);
        Assert.False(oldHeartbeat);
        Assert.True(newHeartbeat);
    }

    [Fact]
    public async Task Idle_WhenOffline_DeactivatesAndFlushesUncheckpointedState()
    {
        using var settings = HostSettings.Sqlite();
        settings.ConfigureActors = o => o.CollectionAge = TimeSpan.FromMinutes(5);
        settings.ConfigureGrains = o =>
        {
            o.CheckpointInterval = TimeSpan.FromHours(2);
            o.FleetCheckpointInterval = TimeSpan.FromHours(2);
        };
        await using var host = await GrainsHost.StartAsync(settings);
        await host.Vehicle(Build.Vin).ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 12), Build.Fleet);
        var storedBefore = await host.ReadStoredVehicleAsync(Build.Vin);

        host.Time.Advance(TimeSpan.FromMinutes(11));
        await Eventually.TrueAsync(() => Task.FromResult(host.Runtime.ActivationCount == 0), "idle vehicle and fleet grains collected");
        var storedAfter = await host.ReadStoredVehicleAsync(Build.Vin);
        var fleetAfter = await host.Storage.ReadAsync("fleet/fleet", Build.Fleet, CancellationToken.None);

        Assert.Null(storedBefore);
        Assert.True(FleetGrainState.Parser.ParseFrom(fleetAfter!.Data.Span).Members.ContainsKey(Build.Vin));
        Assert.Equal(1UL, storedAfter!.AppliedSequence);
        Assert.Equal(12, storedAfter.Vehicle.Signals.Speed);
    }

    [Fact]
    public async Task Activation_OfAVehicleStoredOnline_MarksItOfflineInItAndItsFleet()
    {
        using var settings = HostSettings.Sqlite();
        await using var host = await GrainsHost.StartAsync(settings);
        var seen = Timestamp.FromDateTimeOffset(host.Time.GetUtcNow());
        var crashed = new VehicleGrainState
        {
            Vehicle = new Vehicle { Vin = Build.Vin, FleetId = Build.Fleet, ConnectionState = ConnectionState.Online, LastSeenTime = seen, StateVersion = 7, Signals = new Signals() },
        };
        await host.Storage.WriteAsync("vehicle/vehicle", Build.Vin, crashed.ToByteArray(), null, CancellationToken.None);
        await host.Grains.GetGrain<IFleetGrain>(Build.Fleet).UpdateMemberAsync(new FleetMemberUpdate(Build.Vin, true, host.Time.GetUtcNow()));

        var vehicle = await host.Vehicle(Build.Vin).GetAsync();
        var member = Assert.Single((await host.Grains.GetGrain<IFleetGrain>(Build.Fleet).ListVehiclesAsync(10, null, null)).Vehicles);

        Assert.Equal(ConnectionState.Offline, vehicle!.ConnectionState);
        Assert.Equal(8UL, vehicle.StateVersion);
        Assert.False(member.Online);
    }
}
