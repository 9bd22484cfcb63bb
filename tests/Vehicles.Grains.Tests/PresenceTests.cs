using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;
using Vehicles.Grains.State;

namespace Vehicles.Grains.Tests;

public sealed class PresenceTests
{
    [Fact]
    public async Task OpenSession_MakesVehicleOnline_AndCloseMakesItOffline()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);

        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        var online = await vehicle.GetAsync();
        await vehicle.CloseSessionAsync("s1");
        var offline = await vehicle.GetAsync();

        Assert.Equal(ConnectionState.Online, online!.ConnectionState);
        Assert.Equal(host.Time.GetUtcNow(), online.LastSeenTime.ToDateTimeOffset());
        Assert.Equal("fw-1", online.FirmwareVersion);
        Assert.Equal(ConnectionState.Offline, offline!.ConnectionState);
        Assert.True(offline.StateVersion > online.StateVersion);
        Assert.Equal(SessionStatus.Unknown, await vehicle.HeartbeatAsync("s1"));
        GC.KeepAlive(session);
    }

    [Fact]
    public async Task Presence_WhenHeartbeatsStop_GoesOfflineAfterTimeout()
    {
        using var settings = ClusterSettings.Sqlite();
        settings.ConfigureGrains = o => o.HeartbeatTimeout = TimeSpan.FromSeconds(90);
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");

        host.Time.Advance(TimeSpan.FromSeconds(60));
        var alive = await vehicle.HeartbeatAsync("s1");
        host.Time.Advance(TimeSpan.FromSeconds(60));
        var afterHeartbeat = await vehicle.GetAsync();
        host.Time.Advance(TimeSpan.FromSeconds(200));
        await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.ConnectionState == ConnectionState.Offline, "heartbeat timeout");
        var staleHeartbeat = await vehicle.HeartbeatAsync("s1");
        var endReason = await session.WaitEndedAsync();

        Assert.Equal(SessionStatus.Current, alive);
        Assert.Equal(ConnectionState.Online, afterHeartbeat!.ConnectionState);
        Assert.Equal(SessionStatus.Unknown, staleHeartbeat);
        Assert.Equal(SessionEndReason.HeartbeatTimeout, endReason);
    }

    [Fact]
    public async Task OpenSession_OfANewerSession_EndsTheOlderOneAsReplaced_AndItsCloseIsIgnored()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (older, _) = await host.ConnectAsync(Build.Vin, "s1");
        var (newer, _) = await host.ConnectAsync(Build.Vin, "s2");

        await vehicle.CloseSessionAsync("s1");
        var oldHeartbeat = await vehicle.HeartbeatAsync("s1");
        var newHeartbeat = await vehicle.HeartbeatAsync("s2");
        var oldEnd = await older.WaitEndedAsync();
        var sent = await vehicle.SendCommandAsync(Build.Command());
        var pushed = await newer.NextPushAsync();

        Assert.Equal(ConnectionState.Online, (await vehicle.GetAsync())!.ConnectionState);
        Assert.Equal(SessionEndReason.Replaced, oldEnd);
        Assert.Equal(SessionStatus.Replaced, oldHeartbeat);
        Assert.Equal(SessionStatus.Current, newHeartbeat);
        Assert.Equal(sent.Command!.CommandId, pushed.Command.CommandId);
        Assert.False(older.Pushes.TryRead(out _));
        Assert.False(newer.Ended.IsCompleted);
    }

    [Fact]
    public async Task Reattach_WhenTheVehicleOpenedAnotherSessionMeanwhile_IsRefused_AndTheNewSessionStays()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (current, _) = await host.ConnectAsync(Build.Vin, "new");
        await vehicle.SendCommandAsync(Build.Command());
        await current.NextPushAsync();

        var (stale, grant) = await host.ConnectAsync(Build.Vin, "old", reattach: true);

        Assert.False(grant.Accepted);
        Assert.Empty(grant.Commands);
        Assert.Equal(SessionStatus.Current, await vehicle.HeartbeatAsync("new"));
        Assert.Equal(SessionStatus.Replaced, await vehicle.HeartbeatAsync("old"));
        Assert.False(current.Ended.IsCompleted);
        GC.KeepAlive(stale);
    }

    [Fact]
    public async Task Deactivation_WhileASessionIsOpen_AsksTheStreamToReattach_AndTheNextActivationTakesItBack()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        var sent = await vehicle.SendCommandAsync(Build.Command("lock_doors"));
        await session.NextPushAsync();
        await vehicle.ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 42), null);

        await host.Cluster.DeactivateAsync(vehicle);
        await session.ReattachRequested.WaitAsync(TimeSpan.FromSeconds(15));
        var stored = await host.ReadStoredVehicleAsync(Build.Vin);
        var reactivated = await vehicle.GetAsync();
        var unknownToTheNewActivation = await vehicle.HeartbeatAsync("s1");
        var (reattached, grant) = await host.ConnectAsync(Build.Vin, "s1", reattach: true);

        Assert.False(session.Ended.IsCompleted);
        Assert.Equal(1UL, stored!.AppliedSequence);
        Assert.Equal(42, stored.Vehicle.Signals.Speed);
        Assert.Equal(ConnectionState.Offline, reactivated!.ConnectionState);
        Assert.Equal(SessionStatus.Unknown, unknownToTheNewActivation);
        Assert.True(grant.Accepted);
        Assert.Equal(1UL, grant.DurableSequence);
        Assert.Equal([sent.Command!.CommandId], grant.Commands.Select(c => c.CommandId));
        Assert.Equal(SessionStatus.Current, await vehicle.HeartbeatAsync("s1"));
        Assert.Equal(ConnectionState.Online, (await vehicle.GetAsync())!.ConnectionState);
        GC.KeepAlive(reattached);
    }

    [Fact]
    public async Task Activation_OfAVehicleStoredOnline_MarksItOfflineInItAndItsFleet()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var seen = Timestamp.FromDateTimeOffset(host.Time.GetUtcNow());
        var crashed = new GrainState<VehicleGrainState>(new VehicleGrainState
        {
            Vehicle = new Vehicle { Vin = Build.Vin, FleetId = Build.Fleet, ConnectionState = ConnectionState.Online, LastSeenTime = seen, StateVersion = 7, Signals = new Signals() },
        });
        await host.Storage.WriteStateAsync("vehicle", host.Vehicle(Build.Vin).GetGrainId(), crashed);
        await host.Fleet(Build.Fleet).UpdateMemberAsync(new FleetMemberUpdate(Build.Vin, true, host.Time.GetUtcNow()));

        var vehicle = await host.Vehicle(Build.Vin).GetAsync();
        var member = Assert.Single((await host.Fleet(Build.Fleet).ListVehiclesAsync(10, null, null)).Vehicles);

        Assert.Equal(ConnectionState.Offline, vehicle!.ConnectionState);
        Assert.Equal(8UL, vehicle.StateVersion);
        Assert.False(member.Online);
    }
}
