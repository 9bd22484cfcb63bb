using Microsoft.Extensions.Options;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

public sealed class EventBusTests
{
    private static InProcessVehicleEventBus Bus(int capacity) => new(Options.Create(new VehicleGrainOptions { EventSubscriptionCapacity = capacity }));

    private static VehicleEvent Event(ulong version) => new() { Vehicle = new Vehicle { Vin = Build.Vin, StateVersion = version } };

    [Fact]
    public void Publish_ToASlowSubscriber_DropsOldestAndCounts()
    {
        var bus = Bus(capacity: 2);
        using var subscription = bus.SubscribeVehicle(Build.Vin);

        for (ulong v = 1; v <= 5; v++)
        {
            bus.Publish(Build.Vin, Build.Fleet, Event(v));
        }

        Assert.Equal(3, subscription.DroppedCount);
        Assert.True(subscription.Reader.TryRead(out var a));
        Assert.True(subscription.Reader.TryRead(out var b));
        Assert.Equal([4UL, 5UL], [a.Vehicle.StateVersion, b.Vehicle.StateVersion]);
    }

    [Fact]
    public void Publish_ReachesVinFleetAndAllFleetSubscribers_ButNotOthers()
    {
        var bus = Bus(capacity: 8);
        using var vin = bus.SubscribeVehicle(Build.Vin);
        using var fleet = bus.SubscribeFleet(Build.Fleet);
        using var all = bus.SubscribeFleet(IVehicleEventBus.AllFleets);
        using var otherVin = bus.SubscribeVehicle("WVWZZZ1JZXW000001");
        using var otherFleet = bus.SubscribeFleet("fleet-b");

        bus.Publish(Build.Vin, Build.Fleet, Event(1));

        Assert.Equal([1, 1, 1, 0, 0], new[] { vin, fleet, all, otherVin, otherFleet }.Select(s => s.Reader.Count));
    }

    [Fact]
    public void Dispose_RemovesTheSubscription_AndCompletesItsReader()
    {
        var bus = Bus(capacity: 8);
        var subscription = bus.SubscribeVehicle(Build.Vin);

        subscription.Dispose();
        bus.Publish(Build.Vin, Build.Fleet, Event(1));

        Assert.False(bus.HasSubscribers(Build.Vin, Build.Fleet));
        Assert.True(subscription.Reader.Completion.IsCompleted);
    }
}
