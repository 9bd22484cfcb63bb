using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// Deadlines and cancellation from python3-grpcio on calls that wait: the client sees DEADLINE_EXCEEDED or CANCELLED, and
/// the silo's handler sees its cancellation token fire and ends (observed with <see cref="CallProbe"/>).
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class DeadlineAndCancellationInteropTests(InteropSiloFixture fixture)
{
    private const string Fleet = "interop";

    private InteropSilo Silo => fixture.Silo;

    [Fact]
    public async Task WatchVehicle_WithShortDeadline_EndsDeadlineExceededAfterTheCurrentStateAndCancelsTheHandler()
    {
        var vin = await ReportedVehicleAsync(speed: 5);
        var callId = Guid.NewGuid().ToString("N");
        var watch = ApiCall.For(FleetOperator.Descriptor, "WatchVehicle", new { vin }, Silo.OperatorToken(OperatorRole.Viewer, Fleet))
            .With("timeout", 2.0)
            .WithMetadata((CallProbe.CallIdHeader, callId));

        var result = await Silo.Python.RunAsync("stream", watch);

        Assert.Equal("DEADLINE_EXCEEDED", result.Str("code"));
        var first = Assert.Single(result.GetProperty("messages").EnumerateArray());
        Assert.Equal(5, first.GetProperty("vehicle").GetProperty("signals").GetProperty("speed").GetDouble());
        var call = await Silo.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
    }

    [Fact]
    public async Task WatchVehicle_WhenPythonCancels_HandlerTokenFiresAndTheSiloServesOn()
    {
        var vin = await ReportedVehicleAsync(speed: 5);
        var callId = Guid.NewGuid().ToString("N");
        var watch = ApiCall.For(FleetOperator.Descriptor, "WatchVehicle", new { vin }, Silo.OperatorToken(OperatorRole.Viewer, Fleet))
            .WithMetadata((CallProbe.CallIdHeader, callId));
        await using var run = Silo.Python.Start("stream", watch);
        Assert.Equal(5, (await run.ReadMessageAsync()).GetProperty("vehicle").GetProperty("signals").GetProperty("speed").GetDouble());
        await ReportAsync(vin, sequence: 2, speed: 20);
        Assert.Equal(20, (await run.ReadMessageAsync()).GetProperty("vehicle").GetProperty("signals").GetProperty("speed").GetDouble());

        await run.SendAsync(new { cancel = true });
        var result = await run.ResultAsync();

        Assert.Equal("CANCELLED", result.Str("code"));
        var call = await Silo.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
        var after = await Silo.Python.RunAsync("call", ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, Silo.OperatorToken(OperatorRole.Viewer, Fleet)));
        Assert.Equal("OK", after.Str("code"));
    }

    [Fact]
    public async Task Connect_WithShortDeadline_EndsDeadlineExceededAndTheVehicleGoesOffline()
    {
        var vin = Vins.Next();
        var callId = Guid.NewGuid().ToString("N");
        var connect = ApiCall.For(VehicleLink.Descriptor, "Connect", new { hello = new { vin } }, Silo.VehicleToken(vin, Fleet))
            .With("timeout", 3.0)
            .WithMetadata((CallProbe.CallIdHeader, callId));

        var result = await Silo.Python.RunAsync("stream", connect);

        Assert.Equal("DEADLINE_EXCEEDED", result.Str("code"));
        Assert.True(Assert.Single(result.GetProperty("messages").EnumerateArray()).TryGetProperty("welcome", out _));
        var call = await Silo.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
        var vehicle = await Silo.Python.RunAsync("call", ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, Silo.OperatorToken(OperatorRole.Viewer, Fleet)));
        Assert.Equal("CONNECTION_STATE_OFFLINE", vehicle.GetProperty("reply").Str("connection_state"));
    }

    private async Task<string> ReportedVehicleAsync(double speed)
    {
        var vin = Vins.Next();
        await ReportAsync(vin, sequence: 1, speed);
        return vin;
    }

    private async Task ReportAsync(string vin, long sequence, double speed)
    {
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(sequence, speed) }, Silo.VehicleToken(vin, Fleet));
        var result = await Silo.Python.RunAsync("call", report);
        Assert.Equal("OK", result.Str("code"));
    }
}
