using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Tests;

public sealed class FindNearbyVehiclesValidationTests
{
    private readonly RequestValidator _validator = new(new ValidationOptions(), new FakeTimeProvider(TestTime.Start));

    private static FindNearbyVehiclesRequest Valid() => new()
    {
        FleetId = "fleet-a",
        Latitude = 48.137,
        Longitude = 11.575,
        RadiusKm = 5,
        MaxResults = 10,
    };

    [Fact]
    public void Validate_WhenEveryFieldInRange_IsValid()
    {
        Assert.Null(_validator.Validate(Valid()));
        Assert.Null(_validator.Validate((Google.Protobuf.IMessage)Valid()));
    }

    [Theory]
    [InlineData(-90, -180, 1000, 0)]
    [InlineData(90, 180, 0.001, 1000)]
    [InlineData(0, 0, 1e-9, 1)]
    public void Validate_AtTheLimits_IsValid(double latitude, double longitude, double radiusKm, int maxResults)
    {
        var request = Valid();
        request.Latitude = latitude;
        request.Longitude = longitude;
        request.RadiusKm = radiusKm;
        request.MaxResults = maxResults;

        Assert.Null(_validator.Validate(request));
    }

    [Theory]
    [InlineData("", "fleet_id: is required")]
    [InlineData("Fleet-A", "fleet_id: character 1 ('F') is not allowed: use lower-case letters, digits and '-' (not first or last)")]
    public void Validate_WhenFleetIdBad_NamesFleetId(string fleetId, string expected)
    {
        var request = Valid();
        request.FleetId = fleetId;

        Assert.Equal(expected, _validator.Validate(request)?.ToString());
    }

    [Theory]
    [InlineData(90.0001, "latitude: must be between -90 and 90")]
    [InlineData(-91, "latitude: must be between -90 and 90")]
    [InlineData(double.NaN, "latitude: must be a finite number")]
    public void Validate_WhenLatitudeOutOfRange_NamesLatitude(double latitude, string expected)
    {
        var request = Valid();
        request.Latitude = latitude;

        Assert.Equal(expected, _validator.Validate(request)?.ToString());
    }

    [Theory]
    [InlineData(180.5, "longitude: must be between -180 and 180")]
    [InlineData(double.NegativeInfinity, "longitude: must be a finite number")]
    public void Validate_WhenLongitudeOutOfRange_NamesLongitude(double longitude, string expected)
    {
        var request = Valid();
        request.Longitude = longitude;

        Assert.Equal(expected, _validator.Validate(request)?.ToString());
    }

    [Theory]
    [InlineData(0, "radius_km: must be greater than 0 and at most 1000 km, got 0")]
    [InlineData(-1, "radius_km: must be greater than 0 and at most 1000 km, got -1")]
    [InlineData(1000.5, "radius_km: must be greater than 0 and at most 1000 km, got 1000.5")]
    [InlineData(double.NaN, "radius_km: must be a finite number")]
    [InlineData(double.PositiveInfinity, "radius_km: must be a finite number")]
    public void Validate_WhenRadiusOutOfRange_NamesRadiusKm(double radiusKm, string expected)
    {
        var request = Valid();
        request.RadiusKm = radiusKm;

        Assert.Equal(expected, _validator.Validate(request)?.ToString());
    }

    [Theory]
    [InlineData(-1, "max_results: must be between 0 and 1000 (0 for the default, 100), got -1")]
    [InlineData(1001, "max_results: must be between 0 and 1000 (0 for the default, 100), got 1001")]
    public void Validate_WhenMaxResultsOutOfRange_NamesMaxResults(int maxResults, string expected)
    {
        var request = Valid();
        request.MaxResults = maxResults;

        Assert.Equal(expected, _validator.Validate(request)?.ToString());
    }

    [Fact]
    public void Validate_WhenSeveralFieldsBad_ReportsTheFirstInFieldOrder()
    {
        var request = new FindNearbyVehiclesRequest { FleetId = "fleet-a", Latitude = 95, RadiusKm = -1, MaxResults = -1 };

        Assert.Equal("latitude", _validator.Validate(request)?.Field);
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 1)]
    [InlineData(250, 250)]
    [InlineData(1000, 1000)]
    public void EffectiveNearbyResults_ZeroMeansTheDefault(int requested, int expected)
    {
        Assert.Equal(expected, FieldRules.EffectiveNearbyResults(requested));
    }
}
