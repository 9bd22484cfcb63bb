namespace Vehicles.Testing;

/// <summary>
/// The brute-force oracle of the geo tests: great-circle distance by the textbook haversine formula, written apart from
/// the code under test (<c>InMemoryVehicleGeoIndex.DistanceKm</c>, Redis GEORADIUS) so that both are checked against it.
/// </summary>
internal static class Haversine
{
    /// <summary>The Earth radius Redis uses for geo distances, in kilometres.</summary>
    public const double EarthRadiusKm = 6372.797560856;

    /// <summary>Distance in kilometres between two points given in degrees.</summary>
    public static double DistanceKm(double lat1, double lon1, double lat2, double lon2)
    {
        static double Radians(double degrees) => degrees * Math.PI / 180;
        var dLat = Radians(lat2 - lat1);
        var dLon = Radians(lon2 - lon1);
        var a = Math.Pow(Math.Sin(dLat / 2), 2) + (Math.Cos(Radians(lat1)) * Math.Cos(Radians(lat2)) * Math.Pow(Math.Sin(dLon / 2), 2));
        return 2 * EarthRadiusKm * Math.Asin(Math.Sqrt(a));
    }
}
