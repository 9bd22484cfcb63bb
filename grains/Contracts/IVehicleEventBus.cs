using System.Threading.Channels;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// Vehicle events of this silo: vehicle grains publish state changes, presence changes and command updates;
/// WatchVehicle, WatchFleet and SendCommand's wait_for_result subscribe by VIN or by fleet. Publishing never blocks:
/// each subscription has a bounded queue that drops its oldest event when full and counts what it dropped
/// (<see cref="VehicleEventSubscription.DroppedCount"/>); since every vehicle event carries the whole vehicle, a
/// subscriber that lost events still converges on the newest state, and one that must not miss a command result
/// re-reads the command after a drop.
/// </summary>
public interface IVehicleEventBus
{
    /// <summary>The fleet key that subscribes to every fleet.</summary>
    const string AllFleets = "*";

    /// <summary>
    /// Delivers an event to the VIN's subscribers, the fleet's and those of <see cref="AllFleets"/>. The event is shared
    /// by every subscriber: neither the publisher nor a subscriber may change it afterwards.
    /// </summary>
    /// <param name="vin">The vehicle the event is about.</param>
    /// <param name="fleetId">The vehicle's fleet; empty when unknown.</param>
    /// <param name="vehicleEvent">The event.</param>
    void Publish(string vin, string fleetId, VehicleEvent vehicleEvent);

    /// <summary>Whether anyone would receive an event about this vehicle: lets a publisher skip building it.</summary>
    bool HasSubscribers(string vin, string fleetId);

    /// <summary>Subscribes to one vehicle's events. Dispose the subscription to end it.</summary>
    VehicleEventSubscription SubscribeVehicle(string vin);

    /// <summary>Subscribes to the events of a fleet's vehicles (<see cref="AllFleets"/> for every fleet). Dispose the subscription to end it.</summary>
    VehicleEventSubscription SubscribeFleet(string fleetId);
}

/// <summary>One subscription of <see cref="IVehicleEventBus"/>: a bounded queue that drops its oldest event when full.</summary>
public sealed class VehicleEventSubscription : IDisposable
{
    private readonly Channel<VehicleEvent> _channel;
    private readonly Action<VehicleEventSubscription> _onDispose;
    private long _dropped;
    private int _disposed;

    internal VehicleEventSubscription(int capacity, Action<VehicleEventSubscription> onDispose)
    {
        _onDispose = onDispose;
        _channel = Channel.CreateBounded<VehicleEvent>(
            new BoundedChannelOptions(capacity) { SingleReader = false, SingleWriter = false, FullMode = BoundedChannelFullMode.DropOldest },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>The events, oldest first. Completed when the subscription is disposed.</summary>
    public ChannelReader<VehicleEvent> Reader => _channel.Reader;

    /// <summary>How many events were dropped because the subscriber fell behind.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Completes once events from every silo reach this subscription (at once in process; after the Redis SUBSCRIBE is
    /// acknowledged in a cluster, or after it failed, when only local events arrive). Await it before reading the
    /// state a watch starts from, so that no change falls between that state and the first event. Set by the bus.
    /// </summary>
    public Task Ready { get; set; } = Task.CompletedTask;

    /// <summary>Ends the subscription.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _onDispose(this);
            _channel.Writer.TryComplete();
        }
    }

    internal void Write(VehicleEvent vehicleEvent) => _channel.Writer.TryWrite(vehicleEvent);
}
