using Grpc.Health.V1;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>What python3-grpcio clients with open streams see when the silo stops (a silo of its own, stopped by the test).</summary>
public sealed class ShutdownInteropTests
{
    private const string Fleet = "interop";

    [Fact]
    public async Task SiloStop_HealthWatchTurnsNotServingAndVehicleWatchEndsUnavailable()
    {
        await using var silo = await InteropSilo.StartAsync();
        var vin = Vins.Next();
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed: 7) }, silo.VehicleToken(vin, Fleet));
        Assert.Equal("OK", (await silo.Python.RunAsync("call", report)).Str("code"));
        await using var health = silo.Python.Start("stream", ApiCall.For(Health.Descriptor, "Watch", new { service = "" }));
        await using var watch = silo.Python.Start("stream", ApiCall.For(FleetOperator.Descriptor, "WatchVehicle", new { vin }, silo.OperatorToken(OperatorRole.Viewer, Fleet)));
        Assert.Equal("SERVING", (await health.ReadMessageAsync()).Str("status"));
        Assert.Equal(7, (await watch.ReadMessageAsync()).GetProperty("vehicle").GetProperty("signals").GetProperty("speed").GetDouble());

        await silo.StopAsync();
        var healthResult = await health.ResultAsync();
        var watchResult = await watch.ResultAsync();

        Assert.Equal(["SERVING", "NOT_SERVING"], healthResult.GetProperty("messages").EnumerateArray().Select(m => m.Str("status")));
        Assert.Equal("OK", healthResult.Str("code"));
        Assert.Equal("UNAVAILABLE", watchResult.Str("code"));
        Assert.Equal("Server shutting down.", watchResult.Str("details"));
    }
}
