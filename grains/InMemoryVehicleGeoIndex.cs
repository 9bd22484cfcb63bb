using System.Collections.Concurrent;

namespace Vehicles.Grains;

/// <summary>
/// The single-silo <see cref="IVehicleGeoIndex"/>: the last position of every vehicle in memory, per fleet. Updates are
/// one dictionary write, so they are not throttled; a query scans the fleet's vehicles and computes the same haversine
/// distance as Redis, so the two backends return the same answer (up to Redis' 52-bit geohash precision). Positions
/// are not persisted: after a restart a vehicle is found again once it reports a position.
/// </summary>
public sealed class InMemoryVehicleGeoIndex : IVehicleGeoIndex
{
    /// <summary>The Earth radius Redis uses for geo distances, in kilometres (so both backends agree).</summary>
    public const double EarthRadiusKm = 6372.797560856;

    private const double DegreesToRadians = Math.PI / 180;

    // Kilometres per degree of latitude on that sphere: a cheap bound that skips the trigonometry for far vehicles.
    private const double KmPerDegreeLatitude = EarthRadiusKm * DegreesToRadians;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Position>> _fleets = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public void UpdatePosition(string fleetId, string vin, double latitude, double longitude)
    {
        ArgumentException.ThrowIfNullOrEmpty(fleetId);
        ArgumentException.ThrowIfNullOrEmpty(vin);
        ValidateCoordinates(latitude, longitude);
        var fleet = _fleets.GetOrAdd(fleetId, static _ => new ConcurrentDictionary<string, Position>(StringComparer.Ordinal));
        fleet[vin] = new Position(latitude, longitude);
    }

    /// <inheritdoc />
    public Task RemoveAsync(string fleetId, string vin, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(fleetId);
        ArgumentException.ThrowIfNullOrEmpty(vin);

        // An emptied fleet keeps its (empty) dictionary: dropping it could race with a concurrent update and lose it.
        if (_fleets.TryGetValue(fleetId, out var fleet))
        {
            fleet.TryRemove(vin, out _);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<NearbyVehicle>> NearbyAsync(string fleetId, double latitude, double longitude, double radiusKm, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(fleetId);
        ValidateCoordinates(latitude, longitude);
        if (!(radiusKm > 0) || double.IsInfinity(radiusKm))
        {
            throw new ArgumentOutOfRangeException(nameof(radiusKm), radiusKm, "The radius must be a positive, finite number of kilometres.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_fleets.TryGetValue(fleetId, out var fleet))
        {
            return Task.FromResult<IReadOnlyList<NearbyVehicle>>([]);
        }

        var found = new List<NearbyVehicle>();
        var maxLatitudeDelta = radiusKm / KmPerDegreeLatitude;
        foreach (var (vin, position) in fleet)
        {
            // The great-circle distance is at least the distance along the meridian.
            if (Math.Abs(position.Latitude - latitude) > maxLatitudeDelta)
            {
                continue;
            }

            var distance = DistanceKm(latitude, longitude, position.Latitude, position.Longitude);
            if (distance <= radiusKm)
            {
                found.Add(new NearbyVehicle(vin, distance, position.Latitude, position.Longitude));
            }
        }

        found.Sort(static (a, b) =>
        {
            var byDistance = a.DistanceKm.CompareTo(b.DistanceKm);
            return byDistance != 0 ? byDistance : string.CompareOrdinal(a.Vin, b.Vin);
        });
        if (found.Count > limit)
        {
            found.RemoveRange(limit, found.Count - limit);
        }

        return Task.FromResult<IReadOnlyList<NearbyVehicle>>(found);
    }

    /// <summary>
    /// Great-circle distance in kilometres by the haversine formula on a sphere of <see cref="EarthRadiusKm"/>, written
    /// as Redis writes it (geohashGetDistance).
    /// </summary>
    public static double DistanceKm(double latitude1, double longitude1, double latitude2, double longitude2)
    {
        var lat1 = latitude1 * DegreesToRadians;
        var lat2 = latitude2 * DegreesToRadians;
        var u = Math.Sin((lat2 - lat1) / 2);
        var v = Math.Sin(((longitude2 * DegreesToRadians) - (longitude1 * DegreesToRadians)) / 2);

        // Rounding can lift the sum a hair above 1 for antipodal points, where Asin would answer NaN.
        return 2 * EarthRadiusKm * Math.Asin(Math.Sqrt(Math.Min(1, (u * u) + (Math.Cos(lat1) * Math.Cos(lat2) * v * v))));
    }

    private static void ValidateCoordinates(double latitude, double longitude)
    {
        // Written so that NaN fails too.
        if (!(Math.Abs(latitude) <= 90))
        {
            throw new ArgumentOutOfRangeException(nameof(latitude), latitude, "Latitude must be within ±90.");
        }

        if (!(Math.Abs(longitude) <= 180))
        {
            throw new ArgumentOutOfRangeException(nameof(longitude), longitude, "Longitude must be within ±180.");
        }
    }

    private readonly record struct Position(double Latitude, double Longitude);
}
