using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>The vehicles.v1 main flow driven by python3-grpcio (the C core) against the real silo.</summary>
[Collection(InteropTestGroup.Name)]
public sealed class VehicleFlowInteropTests(InteropSiloFixture fixture)
{
    private const string Fleet = "interop";

    [Fact]
    public async Task MainFlow_ConnectReportCommandResult_EveryStepAsTheApiPromises()
    {
        var vin = Vins.Next();
        var parameters = new
        {
            vin,
            vehicle_token = fixture.Silo.VehicleToken(vin, Fleet),
            operator_token = fixture.Silo.OperatorToken(OperatorRole.Operator, Fleet),
        };

        var result = await fixture.Silo.Python.RunAsync("main_flow", parameters);

        var welcome = result.GetProperty("welcome").GetProperty("welcome");
        Assert.Equal(32, welcome.Str("session_id")!.Length);
        var ack = result.GetProperty("ack").GetProperty("ack");
        Assert.Equal("1", ack.Str("sequence"));
        var vehicle = result.GetProperty("vehicle");
        Assert.Equal(vin, vehicle.Str("vin"));
        Assert.Equal(Fleet, vehicle.Str("fleet_id"));
        Assert.Equal("CONNECTION_STATE_ONLINE", vehicle.Str("connection_state"));
        Assert.Equal("py-fw-1.2", vehicle.Str("firmware_version"));
        Assert.Equal(33.5, vehicle.GetProperty("signals").GetProperty("speed").GetDouble());
        Assert.Equal(71, vehicle.GetProperty("signals").GetProperty("state_of_charge").GetDouble());
        var delivery = result.GetProperty("delivery").GetProperty("command");
        Assert.Equal("set_charge_limit", delivery.Str("name"));
        Assert.Equal(80, delivery.GetProperty("parameters").GetProperty("set_charge_limit").GetProperty("percent").GetInt32());
        var sent = result.GetProperty("sent").GetProperty("command");
        Assert.Equal(delivery.Str("command_id"), sent.Str("command_id"));
        Assert.Equal("COMMAND_STATE_SUCCEEDED", sent.Str("state"));
        Assert.Equal("limit set", sent.Str("status_message"));
        var command = result.GetProperty("command");
        Assert.Equal("COMMAND_STATE_SUCCEEDED", command.Str("state"));
        Assert.Equal(80.0, command.GetProperty("result").GetProperty("percent").GetDouble());
        Assert.Equal(0, result.GetProperty("after_close").GetArrayLength());
        Assert.Equal("OK", result.Str("stream_code"));
    }

    [Fact]
    public async Task GetVehicle_HundredConcurrentCallsOnOneChannel_AllSucceed()
    {
        var vin = Vins.Next();
        await ReportAsync(vin, speed: 12);
        var call = ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, fixture.Silo.OperatorToken(OperatorRole.Viewer, Fleet)).With("count", 100);

        var result = await fixture.Silo.Python.RunAsync("calls_concurrent", call);

        Assert.Equal(Enumerable.Repeat("OK", 100), result.Strings("codes"));
        Assert.All(result.GetProperty("replies").EnumerateArray(), reply => Assert.Equal(12, reply.GetProperty("signals").GetProperty("speed").GetDouble()));
    }

    private async Task ReportAsync(string vin, double speed)
    {
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed) }, fixture.Silo.VehicleToken(vin, Fleet));
        var result = await fixture.Silo.Python.RunAsync("call", report);
        Assert.Equal("OK", result.Str("code"));
    }
}
