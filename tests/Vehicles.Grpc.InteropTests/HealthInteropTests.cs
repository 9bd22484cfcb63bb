using Grpc.Health.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>grpc.health.v1.Health called by python3-grpcio through the descriptor set (grpc_health is not packaged).</summary>
[Collection(InteropTestGroup.Name)]
public sealed class HealthInteropTests(InteropServerFixture fixture)
{
    [Fact]
    public async Task Check_WholeServer_ReturnsServing()
    {
        var result = await fixture.Python.RunAsync("health_check", new { service = string.Empty });

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal("SERVING", result.Str("status"));
    }

    [Fact]
    public async Task Check_UnknownService_ReturnsNotFound()
    {
        var result = await fixture.Python.RunAsync("health_check", new { service = "vehicles.nowhere.v1.Unknown" });

        Assert.Equal("NOT_FOUND", result.Str("code"));
    }

    [Fact]
    public async Task Check_AfterStatusSetToNotServing_ReturnsNotServing()
    {
        var service = "interop.check." + Guid.NewGuid().ToString("N");
        fixture.Server.Health.SetStatus(service, HealthCheckResponse.Types.ServingStatus.NotServing);

        var result = await fixture.Python.RunAsync("health_check", new { service });

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal("NOT_SERVING", result.Str("status"));
    }

    [Fact]
    public async Task Watch_WhenStatusChanges_StreamsTheCurrentThenTheNewStatus()
    {
        var service = "interop.watch." + Guid.NewGuid().ToString("N");
        fixture.Server.Health.SetStatus(service, HealthCheckResponse.Types.ServingStatus.Serving);
        await using var run = fixture.Python.Start("health_watch", new { service, take = 2 });
        Assert.Equal("SERVING", (await run.ReadLineAsync()).Str("status"));

        fixture.Server.Health.SetStatus(service, HealthCheckResponse.Types.ServingStatus.NotServing);
        var result = await run.ResultAsync();

        Assert.Equal(["SERVING", "NOT_SERVING"], result.Strings("statuses"));
        Assert.Equal("CANCELLED", result.Str("code"));
    }
}
