using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

public sealed class EventTests
{
    [Fact]
    public async Task VehicleChanges_ArePublishedToVehicleAndFleetSubscribers()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        using var byVin = host.Events.SubscribeVehicle(Build.Vin);
        using var byFleet = host.Events.SubscribeFleet(Build.Fleet);
        using var otherFleet = host.Events.SubscribeFleet("fleet-b");

        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        await vehicle.ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 42), null);
        var sent = await vehicle.SendCommandAsync(Build.Command());
        await vehicle.CompleteCommandAsync(new CommandResult { CommandId = sent.Command!.CommandId, Outcome = CommandOutcome.Succeeded });
        await vehicle.CloseSessionAsync("s1");

        var events = Drain(byVin);
        Assert.Equal(
            ["vehicle:Online", "vehicle:Online", "command:Pending", "command:Delivered", "command:Succeeded", "vehicle:Offline"],
            events.Select(Describe));
        Assert.Equal(42, events[1].Vehicle.Signals.Speed);
        Assert.True(events.Where(e => e.Vehicle is not null).Select(e => e.Vehicle.StateVersion).SequenceEqual(
            events.Where(e => e.Vehicle is not null).Select(e => e.Vehicle.StateVersion).Order()));
        Assert.Equal(events.Select(Describe), Drain(byFleet).Select(Describe));
        Assert.Empty(Drain(otherFleet));
        GC.KeepAlive(session);
    }

    [Fact]
    public async Task Heartbeat_PublishesNothing()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        using var byVin = host.Events.SubscribeVehicle(Build.Vin);

        var status = await vehicle.HeartbeatAsync("s1");

        Assert.Equal(SessionStatus.Current, status);
        Assert.Empty(Drain(byVin));
        GC.KeepAlive(session);
    }

    private static string Describe(VehicleEvent e) => e.KindCase switch
    {
        VehicleEvent.KindOneofCase.Vehicle => "vehicle:" + e.Vehicle.ConnectionState.ToString(),
        VehicleEvent.KindOneofCase.Command => "command:" + e.Command.State.ToString(),
        _ => "none",
    };

    private static List<VehicleEvent> Drain(VehicleEventSubscription subscription)
    {
        var events = new List<VehicleEvent>();
        while (subscription.Reader.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }
}
