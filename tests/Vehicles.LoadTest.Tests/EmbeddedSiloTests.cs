using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vehicles.Api.V1;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest.Tests;

/// <summary>Silos of their own, started beside the collection's shared one (each picks free ports).</summary>
[Collection(EmbeddedSiloGroup.Name)]
public sealed class EmbeddedSiloTests(EmbeddedSiloFixture fixture)
{
    [Fact]
    public async Task EchoDuplex_WhenTheSiloBeginsToStop_EndsWithUnavailableShuttingDown()
    {
        await using var silo = await EmbeddedSilo.StartAsync();
        using var api = new ApiConnection(silo.Address, null, new ApiSettings());
        using var call = api.ForEchoStream(0).Duplex();
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "hello" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        // The signal a stopping host gives first; Kestrel keeps the connection until the host's StopAsync, so the
        // client reads the stream's status (a full stop could close the connection before the client reads it).
        silo.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal((StatusCode.Unavailable, "Server shutting down."), (error.StatusCode, error.Status.Detail));
    }

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
