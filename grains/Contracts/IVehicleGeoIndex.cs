namespace Vehicles.Grains;

/// <summary>
/// Vehicle positions per fleet, for "vehicles near a point" queries. Advisory: fed by vehicle grains as status reports
/// arrive, it may lag the vehicles' state (an implementation may throttle writes, and a distributed one drops updates
/// while its backing store is unreachable); it is never part of the durable path. One instance per silo, shared by
/// every grain, so every member is thread-safe. In a single silo it is <see cref="InMemoryVehicleGeoIndex"/>; in a
/// cluster, a Redis geo set shared by every silo.
/// </summary>
public interface IVehicleGeoIndex
{
    /// <summary>
    /// Records a vehicle's position in its fleet. Never blocks on I/O: an implementation may buffer the position and
    /// write only the last one of an interval.
    /// </summary>
    /// <param name="fleetId">The vehicle's fleet.</param>
    /// <param name="vin">The vehicle.</param>
    /// <param name="latitude">Degrees north, within ±90 (a Redis-backed index holds only ±85.05112878).</param>
    /// <param name="longitude">Degrees east, within ±180.</param>
    /// <exception cref="ArgumentOutOfRangeException">The coordinates are not finite or outside what the index can hold.</exception>
    void UpdatePosition(string fleetId, string vin, double latitude, double longitude);

    /// <summary>Removes a vehicle from a fleet's index (it moved to another fleet or was deleted).</summary>
    /// <exception cref="FeatureUnavailableException">The index's backing store cannot be reached right now.</exception>
    Task RemoveAsync(string fleetId, string vin, CancellationToken cancellationToken);

    /// <summary>
    /// Vehicles of <paramref name="fleetId"/> within <paramref name="radiusKm"/> of a point (the boundary included), by
    /// great-circle distance on a sphere of radius 6372.797560856 km (as Redis computes it), nearest first, ties by
    /// VIN; at most <paramref name="limit"/> of them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The point is outside what the index can hold, or radius or limit is not positive.</exception>
    /// <exception cref="FeatureUnavailableException">The index's backing store cannot be reached right now.</exception>
    Task<IReadOnlyList<NearbyVehicle>> NearbyAsync(string fleetId, double latitude, double longitude, double radiusKm, int limit, CancellationToken cancellationToken);
}

/// <summary>A vehicle found by <see cref="IVehicleGeoIndex.NearbyAsync"/>.</summary>
/// <param name="Vin">The vehicle.</param>
/// <param name="DistanceKm">Its distance from the query point in kilometres.</param>
/// <param name="Latitude">Its indexed latitude (a Redis geo set keeps it to about 0.6 m).</param>
/// <param name="Longitude">Its indexed longitude.</param>
public readonly record struct NearbyVehicle(string Vin, double DistanceKm, double Latitude, double Longitude);
