using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.Security;

namespace Vehicles.Api.Tests;

public sealed class VehicleTokenFleetTests
{
    private const string Vin = "1M8GDM9AXKP042788";

    private readonly FakeTimeProvider _clock = new(TestTime.Start);

    private TokenService Service() => new(new TokenOptions { SigningKey = Convert.ToBase64String(new byte[32]) }, _clock);

    [Fact]
    public async Task VehicleToken_WithFleet_RoundTripsTheFleet()
    {
        var service = Service();

        var result = await service.ValidateAsync("Bearer " + service.MintVehicleToken(Vin, "fleet-a"));

        var vehicle = Assert.IsType<VehicleIdentity>(result.Identity);
        Assert.Equal(Vin, vehicle.Vin);
        Assert.Equal("fleet-a", vehicle.FleetId);
    }

    [Fact]
    public async Task VehicleToken_WithoutFleet_HasEmptyFleet()
    {
        var service = Service();

        var result = await service.ValidateAsync(service.MintVehicleToken(Vin));

        Assert.Equal("", Assert.IsType<VehicleIdentity>(result.Identity).FleetId);
    }

    [Fact]
    public void MintVehicleToken_InvalidFleet_Throws()
    {
        var service = Service();

        var error = Assert.Throws<ArgumentException>(() => service.MintVehicleToken(Vin, "Not A Fleet"));

        Assert.Equal("fleetId", error.ParamName);
    }
}
