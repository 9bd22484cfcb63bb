using Grpc.Core;
using Vehicles.Api.V1;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest.Tests;

/// <summary>Calls that reach the embedded silo's services, or are refused by it.</summary>
[Collection(EmbeddedSiloGroup.Name)]
public sealed class EmbeddedSiloTests(EmbeddedSiloFixture fixture)
{
    [Fact]
    public async Task Echo_WithoutAToken_IsAnsweredSinceOnlyVehiclesV1IsAuthenticated()
    {
        using var api = new ApiConnection(fixture.Silo.Address, null, new ApiSettings());

        var reply = await api.ForEchoStream(0).EchoAsync(new EchoRequest { Message = "ping" }, deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.Equal("ping", reply.Message);
    }

    [Fact]
    public async Task GetVehicle_WithoutAToken_IsRefusedUnauthenticated()
    {
        using var api = new ApiConnection(fixture.Silo.Address, null, new ApiSettings());

        var error = await Assert.ThrowsAsync<RpcException>(
            async () => await api.ForOperators().GetVehicleAsync(new GetVehicleRequest { Vin = "1HGCM82633A004352" }, deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("UNAUTHENTICATED", CallErrors.StatusName(error));
    }
}
