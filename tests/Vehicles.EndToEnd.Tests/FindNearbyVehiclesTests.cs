using Grpc.Core;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

public sealed class FindNearbyVehiclesTests : SiloTestBase
{
    // The sphere Redis measures on; the brute force below uses it independently of the server's code.
    private const double CenterLatitude = 52.52;
    private const double CenterLongitude = 13.405;

    [Fact]
    public async Task FindNearbyVehicles_AfterVehiclesReport_ReturnsTheBruteForceAnswerNearestFirst()
    {
        var random = new Random(20261122);
        var positions = new List<(string Vin, double Latitude, double Longitude)>();
        for (var i = 1; i <= 80; i++)
        {
            var position = (Vin(i), CenterLatitude + ((random.NextDouble() - 0.5) * 0.4), CenterLongitude + ((random.NextDouble() - 0.5) * 0.6));
            positions.Add(position);
            await ReportPositionAsync(position.Item1, Fleet, position.Item2, position.Item3);
        }

        // Another fleet's vehicles right at the point must not show up.
        for (var i = 81; i <= 85; i++)
        {
            await ReportPositionAsync(Vin(i), OtherFleet, CenterLatitude, CenterLongitude);
        }

        var all = await FindAsync(Operator, new FindNearbyVehiclesRequest
        {
            FleetId = Fleet, Latitude = CenterLatitude, Longitude = CenterLongitude, RadiusKm = 10,
        });
        var nearestFive = await FindAsync(Operator, new FindNearbyVehiclesRequest
        {
            FleetId = Fleet, Latitude = CenterLatitude, Longitude = CenterLongitude, RadiusKm = 10, MaxResults = 5,
        });

        var expected = positions
            .Select(p => (p.Vin, p.Latitude, p.Longitude, DistanceKm: Haversine.DistanceKm(CenterLatitude, CenterLongitude, p.Latitude, p.Longitude)))
            .Where(p => p.DistanceKm <= 10)
            .OrderBy(p => p.DistanceKm)
            .ThenBy(p => p.Vin, StringComparer.Ordinal)
            .ToList();
        Assert.InRange(expected.Count, 10, positions.Count - 10);
        Assert.Equal(expected.Select(p => p.Vin), all.Vehicles.Select(v => v.Vin));
        Assert.All(expected.Zip(all.Vehicles), pair =>
        {
            Assert.Equal(pair.First.DistanceKm, pair.Second.DistanceKm, 1e-9);
            Assert.Equal(pair.First.Latitude, pair.Second.Latitude);
            Assert.Equal(pair.First.Longitude, pair.Second.Longitude);
        });
        Assert.Equal(expected.Take(5).Select(p => p.Vin), nearestFive.Vehicles.Select(v => v.Vin));
    }

    [Fact]
    public async Task FindNearbyVehicles_AfterVehicleMovesAndChangesFleet_ReflectsItsLatestReport()
    {
        await ReportPositionAsync(Vin(1), Fleet, CenterLatitude + 0.5, CenterLongitude, sequence: 1);
        var whileFar = await FindAsync(Operator, Near(radiusKm: 5));
        await ReportPositionAsync(Vin(1), Fleet, CenterLatitude + 0.01, CenterLongitude, sequence: 2);
        var afterMove = await FindAsync(Operator, Near(radiusKm: 5));
        await ReportPositionAsync(Vin(1), OtherFleet, CenterLatitude + 0.01, CenterLongitude, sequence: 3);
        var afterFleetChange = await FindAsync(Operator, Near(radiusKm: 5));
        var otherFleet = await FindAsync(Silo.Operator(Silo.OperatorToken(OtherFleet, OperatorRole.Viewer)), Near(radiusKm: 5, fleetId: OtherFleet));

        Assert.Empty(whileFar.Vehicles);
        var found = Assert.Single(afterMove.Vehicles);
        Assert.Equal(Vin(1), found.Vin);
        Assert.Equal(1.112, found.DistanceKm, 0.001);
        Assert.Empty(afterFleetChange.Vehicles);
        Assert.Equal([Vin(1)], otherFleet.Vehicles.Select(v => v.Vin));
    }

    [Fact]
    public async Task FindNearbyVehicles_ForAFleetOutsideTheToken_IsPermissionDenied()
    {
        await ReportPositionAsync(Vin(1), OtherFleet, CenterLatitude, CenterLongitude);

        var error = await Poll.FailsAsync(() => FindAsync(Operator, Near(radiusKm: 5, fleetId: OtherFleet)));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("fleet_id: the token does not cover fleet " + OtherFleet, error.Status.Detail);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(1000.5)]
    public async Task FindNearbyVehicles_WithRadiusOutOfRange_IsInvalidArgumentNamingRadiusKm(double radiusKm)
    {
        var error = await Poll.FailsAsync(() => FindAsync(Operator, Near(radiusKm)));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("radius_km: must be greater than 0 and at most 1000 km", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindNearbyVehicles_WithoutFleetId_IsInvalidArgumentNamingFleetId()
    {
        var error = await Poll.FailsAsync(() => FindAsync(Operator, Near(radiusKm: 5, fleetId: "")));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("fleet_id: is required", error.Status.Detail);
    }

    private static FindNearbyVehiclesRequest Near(double radiusKm, string fleetId = Fleet) =>
        new() { FleetId = fleetId, Latitude = CenterLatitude, Longitude = CenterLongitude, RadiusKm = radiusKm };

    private static Task<FindNearbyVehiclesResponse> FindAsync(ApiClient client, FindNearbyVehiclesRequest request) =>
        client.FindNearbyVehiclesAsync(request);

    // A unary report answers after the grain merged it, so the position is indexed when this returns.
    private async Task ReportPositionAsync(string vin, string fleet, double latitude, double longitude, ulong sequence = 1)
    {
        var vehicle = new ApiClient(Silo.Invoker, Silo.VehicleToken(vin, fleet));
        await vehicle.ReportAsync(new ReportRequest
        {
            Vin = vin,
            Status = new StatusReport { Sequence = sequence, CaptureTime = Silo.Clock.Now(), Signals = Signal.Position(latitude, longitude) },
        });
    }

}
