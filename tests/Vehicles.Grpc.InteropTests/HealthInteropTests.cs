using Grpc.Health.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// grpc.health.v1.Health (Grpc.AspNetCore.HealthChecks over the silo's checks) called by python3-grpcio through the
/// descriptor set (Debian's grpcio has no grpc_health module).
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class HealthInteropTests(InteropSiloFixture fixture)
{
    [Theory]
    [InlineData("")]
    [InlineData("vehicles.v1.VehicleLink")]
    [InlineData("vehicles.v1.FleetOperator")]
    [InlineData("vehicles.v1.ClusterAdmin")]
    [InlineData("vehicles.silo")]
    [InlineData("vehicles.storage")]
    public async Task Check_OfServingSilo_ReturnsServing(string service)
    {
        var result = await fixture.Silo.Python.RunAsync("call", ApiCall.For(Health.Descriptor, "Check", new { service }));

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal("SERVING", result.GetProperty("reply").Str("status"));
    }

    [Fact]
    public async Task Check_UnknownService_ReturnsNotFound()
    {
        var result = await fixture.Silo.Python.RunAsync("call", ApiCall.For(Health.Descriptor, "Check", new { service = "vehicles.nowhere.v1.Unknown" }));

        Assert.Equal("NOT_FOUND", result.Str("code"));
    }

    [Fact]
    public async Task Watch_OfServingSilo_StreamsServingFirst()
    {
        var result = await fixture.Silo.Python.RunAsync("stream", ApiCall.For(Health.Descriptor, "Watch", new { service = "" }).With("take", 1));

        Assert.Equal("SERVING", Assert.Single(result.GetProperty("messages").EnumerateArray()).Str("status"));
        Assert.Equal("CANCELLED", result.Str("code"));
    }
}
