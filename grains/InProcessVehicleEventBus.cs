using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// The in-process <see cref="IVehicleEventBus"/>. Subscriber lists are copy-on-write arrays, so a publish takes no lock
/// and allocates nothing beyond the queue entry.
/// </summary>
public sealed class InProcessVehicleEventBus(IOptions<VehicleGrainOptions> options) : IVehicleEventBus
{
    private readonly ConcurrentDictionary<string, VehicleEventSubscription[]> _byVin = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, VehicleEventSubscription[]> _byFleet = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly int _capacity = options.Value.EventSubscriptionCapacity;

    /// <inheritdoc />
    public void Publish(string vin, string fleetId, VehicleEvent vehicleEvent)
    {
        ArgumentNullException.ThrowIfNull(vehicleEvent);
        Write(_byVin, vin, vehicleEvent);
        if (!string.IsNullOrEmpty(fleetId))
        {
            Write(_byFleet, fleetId, vehicleEvent);
        }

        Write(_byFleet, IVehicleEventBus.AllFleets, vehicleEvent);
    }

    /// <inheritdoc />
    public bool HasSubscribers(string vin, string fleetId)
        => _byVin.ContainsKey(vin) || _byFleet.ContainsKey(IVehicleEventBus.AllFleets) || (!string.IsNullOrEmpty(fleetId) && _byFleet.ContainsKey(fleetId));

    /// <inheritdoc />
    public VehicleEventSubscription SubscribeVehicle(string vin)
    {
        ArgumentException.ThrowIfNullOrEmpty(vin);
        return Subscribe(_byVin, vin);
    }

    /// <inheritdoc />
    public VehicleEventSubscription SubscribeFleet(string fleetId)
    {
        ArgumentException.ThrowIfNullOrEmpty(fleetId);
        return Subscribe(_byFleet, fleetId);
    }

    private static void Write(ConcurrentDictionary<string, VehicleEventSubscription[]> map, string key, VehicleEvent vehicleEvent)
    {
        if (map.TryGetValue(key, out var subscribers))
        {
            foreach (var subscriber in subscribers)
            {
                subscriber.Write(vehicleEvent);
            }
        }
    }

    private VehicleEventSubscription Subscribe(ConcurrentDictionary<string, VehicleEventSubscription[]> map, string key)
    {
        VehicleEventSubscription? subscription = null;
        subscription = new VehicleEventSubscription(_capacity, _ => Remove(map, key, subscription!));
        lock (_gate)
        {
            map[key] = map.TryGetValue(key, out var existing) ? [.. existing, subscription] : [subscription];
        }

        return subscription;
    }

    private void Remove(ConcurrentDictionary<string, VehicleEventSubscription[]> map, string key, VehicleEventSubscription subscription)
    {
        lock (_gate)
        {
            if (!map.TryGetValue(key, out var existing))
            {
                return;
            }

            var remaining = Array.FindAll(existing, s => !ReferenceEquals(s, subscription));
            if (remaining.Length == 0)
            {
                map.TryRemove(key, out _);
            }
            else
            {
                map[key] = remaining;
            }
        }
    }
}
