using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>Custom request metadata, text and -bin, from python3-grpcio through the silo's interceptors to its handlers.</summary>
[Collection(InteropTestGroup.Name)]
public sealed class MetadataInteropTests(InteropSiloFixture fixture)
{
    private const string Fleet = "interop";

    [Fact]
    public async Task GetVehicle_WithCustomTextAndBinaryMetadata_IsAcceptedAndTheHandlerSeesBothDecoded()
    {
        var silo = fixture.Silo;
        var vin = Vins.Next();
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed: 3) }, silo.VehicleToken(vin, Fleet));
        Assert.Equal("OK", (await silo.Python.RunAsync("call", report)).Str("code"));
        var callId = Guid.NewGuid().ToString("N");
        var call = ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, silo.OperatorToken(OperatorRole.Viewer, Fleet))
            .WithMetadata((CallProbe.CallIdHeader, callId), ("x-request-id", "req-0042"), ("x-trace-bin", "AAH//g=="));

        var result = await silo.Python.RunAsync("call", call);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal(vin, result.GetProperty("reply").Str("vin"));
        var seen = (await silo.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended")).Headers;
        Assert.Contains(("x-request-id", "req-0042"), seen);
        Assert.Contains(("x-trace-bin", "AAH//g=="), seen);
        Assert.Contains(seen, h => h.Key == "authorization" && h.Value.StartsWith("Bearer ", StringComparison.Ordinal));
    }
}
