using Grpc.Health.V1;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>The silo's status codes and its own messages, as python3-grpcio decodes them.</summary>
[Collection(InteropTestGroup.Name)]
public sealed class StatusInteropTests(InteropSiloFixture fixture, CompressingSiloFixture other)
{
    private const string Fleet = "interop";

    private InteropSilo Silo => fixture.Silo;

    [Fact]
    public async Task GetVehicle_WithShortVin_IsInvalidArgumentNamingTheField()
    {
        var call = ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin = "WVW1" }, Silo.OperatorToken(OperatorRole.Viewer, Fleet));

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("INVALID_ARGUMENT", result.Str("code"));
        Assert.Equal("vin: must be exactly 17 characters, got 4", result.Str("details"));
    }

    [Fact]
    public async Task SendCommand_WithParameterOutOfRange_IsInvalidArgumentNamingTheNestedField()
    {
        var vin = await OnlineVehicleAsync();
        var request = new { vin, name = "set_charge_limit", parameters = new { set_charge_limit = new { percent = 150 } } };
        var call = ApiCall.For(FleetOperator.Descriptor, "SendCommand", request, Silo.OperatorToken(OperatorRole.Operator, Fleet));

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("INVALID_ARGUMENT", result.Str("code"));
        Assert.Equal("parameters.set_charge_limit.percent: must be between 50 and 100", result.Str("details"));
    }

    [Fact]
    public async Task GetVehicle_WithoutToken_IsUnauthenticatedSayingHowToSendOne()
    {
        var call = ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin = Vins.Next() });

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("UNAUTHENTICATED", result.Str("code"));
        Assert.Equal("missing bearer token: send 'authorization: Bearer <token>'", result.Str("details"));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("other-silo")]
    public async Task GetVehicle_WithBadToken_IsUnauthenticatedInvalidToken(string kind)
    {
        // "other-silo": well formed and unexpired, but signed with another silo's key.
        var token = kind == "garbage" ? "not.a.jwt" : other.Silo.OperatorToken(OperatorRole.Admin, Fleet);
        var call = ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin = Vins.Next() }, token);

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("UNAUTHENTICATED", result.Str("code"));
        Assert.Equal("invalid token", result.Str("details"));
    }

    [Fact]
    public async Task SendCommand_ByViewer_IsPermissionDeniedNamingTheRole()
    {
        var vin = await OnlineVehicleAsync();
        var call = ApiCall.For(FleetOperator.Descriptor, "SendCommand", new { vin, name = "lock_doors" }, Silo.OperatorToken(OperatorRole.Viewer, Fleet));

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("PERMISSION_DENIED", result.Str("code"));
        Assert.Equal("the viewer role may not send commands", result.Str("details"));
    }

    [Fact]
    public async Task FleetOperator_WithVehicleToken_IsPermissionDenied()
    {
        var vin = Vins.Next();
        var call = ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, Silo.VehicleToken(vin, Fleet));

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("PERMISSION_DENIED", result.Str("code"));
        Assert.Equal("only operator tokens may use FleetOperator", result.Str("details"));
    }

    [Fact]
    public async Task GetVehicle_OfUnknownVehicle_IsNotFoundNamingIt()
    {
        var vin = Vins.Next();
        var call = ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, Silo.OperatorToken(OperatorRole.Viewer, Fleet));

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("NOT_FOUND", result.Str("code"));
        Assert.Equal($"vehicle {vin} not found", result.Str("details"));
    }

    [Theory]
    [InlineData("/vehicles.v1.FleetOperator/NoSuchMethod")]
    [InlineData("/vehicles.nowhere.v1.Nothing/Call")]
    public async Task UnknownMethodOrService_IsUnimplemented(string path)
    {
        var call = ApiCall.For(Health.Descriptor, "Check", new { service = "" }, Silo.OperatorToken(OperatorRole.Viewer, Fleet)).With("method", path);

        var result = await Silo.Python.RunAsync("call", call);

        Assert.Equal("UNIMPLEMENTED", result.Str("code"));
    }

    [Fact]
    public async Task Connect_WhenTheSameVehicleConnectsAgain_OlderStreamEndsAbortedAfterItsMessages()
    {
        var vin = Vins.Next();
        var token = Silo.VehicleToken(vin, Fleet);
        var connect = ApiCall.For(VehicleLink.Descriptor, "Connect", new { hello = new { vin } }, token);
        await using var older = Silo.Python.Start("stream", connect);
        Assert.True((await older.ReadMessageAsync()).TryGetProperty("welcome", out _));

        await using var newer = Silo.Python.Start("stream", connect);
        Assert.True((await newer.ReadMessageAsync()).TryGetProperty("welcome", out _));
        var result = await older.ResultAsync();

        Assert.Equal("ABORTED", result.Str("code"));
        Assert.Equal("a newer connection of this vehicle replaced this stream", result.Str("details"));
        Assert.Equal(1, result.GetProperty("messages").GetArrayLength());
    }

    /// <summary>A vehicle of <see cref="Fleet"/> that has reported once (unary Report), so the operator side knows it.</summary>
    private async Task<string> OnlineVehicleAsync()
    {
        var vin = Vins.Next();
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed: 10) }, Silo.VehicleToken(vin, Fleet));
        var result = await Silo.Python.RunAsync("call", report);
        Assert.Equal("OK", result.Str("code"));
        return vin;
    }
}
