using Grpc.Core;
using Grpc.Health.V1;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

public sealed class AuthAndTenancyTests : SiloTestBase
{
    private async Task<RpcException> GetVehicleAs(string? token, string vin) =>
        await Poll.FailsAsync(() => new ApiClient(Silo.Invoker, token).GetVehicleAsync(vin));

    private async Task KnownVehicleAsync(string vin, string fleet)
    {
        var vehicle = await Silo.ConnectAsync(vin, fleet);
        await vehicle.HangUpAsync();
        await vehicle.DisposeAsync();
    }

    [Fact]
    public async Task Call_WithoutToken_IsUnauthenticated()
    {
        var error = await GetVehicleAs(null, Vin(1));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Contains("missing bearer token", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_WithForgedOrGarbageToken_IsUnauthenticatedWithoutDetail()
    {
        var token = Silo.OperatorToken(Fleet);
        var parts = token.Split('.');
        var forged = parts[0] + "." + parts[1] + "." + new string('A', parts[2].Length);

        var forgedError = await GetVehicleAs(forged, Vin(1));
        var garbageError = await GetVehicleAs("not-a-jwt", Vin(1));

        Assert.Equal(StatusCode.Unauthenticated, forgedError.StatusCode);
        Assert.Equal("invalid token", forgedError.Status.Detail);
        Assert.Equal(StatusCode.Unauthenticated, garbageError.StatusCode);
        Assert.Equal("invalid token", garbageError.Status.Detail);
    }

    [Fact]
    public async Task Call_WithExpiredToken_IsUnauthenticated()
    {
        await KnownVehicleAsync(Vin(1), Fleet);
        var token = Silo.OperatorToken(Fleet, OperatorRole.Viewer, TimeSpan.FromMinutes(5));
        var before = await new ApiClient(Silo.Invoker, token).GetVehicleAsync(Vin(1));

        Silo.Clock.Advance(TimeSpan.FromMinutes(7));
        var error = await GetVehicleAs(token, Vin(1));

        Assert.Equal(Vin(1), before.Vin);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("the token has expired", error.Status.Detail);
    }

    [Fact]
    public async Task Streams_WhenTheirTokenExpires_EndUnauthenticated()
    {
        await KnownVehicleAsync(Vin(1), Fleet);
        await using var vehicle = new SimulatedVehicle(Silo.Invoker, Vin(1), Silo.VehicleToken(Vin(1), Fleet, TimeSpan.FromMinutes(5)), Silo.Clock);
        await vehicle.ConnectAsync();
        var viewer = Silo.Operator(Silo.OperatorToken(Fleet, OperatorRole.Viewer, TimeSpan.FromMinutes(5)));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var watch = viewer.WatchVehicle(Vin(1), stop.Token);
        Assert.True(await watch.ResponseStream.MoveNext(stop.Token));

        Silo.Clock.Advance(TimeSpan.FromMinutes(5));
        var streamEnd = await vehicle.ReadUntilEndAsync();
        var watchEnd = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            for (var i = 0; i < 100 && await watch.ResponseStream.MoveNext(stop.Token); i++)
            {
            }
        });

        Assert.Equal(StatusCode.Unauthenticated, streamEnd.StatusCode);
        Assert.Equal("the token has expired", streamEnd.Status.Detail);
        Assert.Equal(StatusCode.Unauthenticated, watchEnd.StatusCode);
    }

    [Fact]
    public async Task Health_StaysAnonymous()
    {
        var health = new Health.HealthClient(Silo.Invoker);

        var response = await health.CheckAsync(new HealthCheckRequest(), TestSilo.With(null));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Connect_AsAnotherVin_IsPermissionDenied()
    {
        await using var vehicle = new SimulatedVehicle(Silo.Invoker, Vin(1), Silo.VehicleToken(Vin(1), Fleet), Silo.Clock);

        await vehicle.ConnectAsync(helloVin: Vin(2));
        var ended = await vehicle.ReadUntilEndAsync();
        var report = await Poll.FailsAsync(() => new ApiClient(Silo.Invoker, Silo.VehicleToken(Vin(1), Fleet)).ReportAsync(
            new ReportRequest { Vin = Vin(2), Status = new StatusReport { Sequence = 1, CaptureTime = Silo.Clock.Now() } }));

        Assert.Equal(StatusCode.PermissionDenied, ended.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, report.StatusCode);
        await Assert.ThrowsAsync<RpcException>(() => Operator.GetVehicleAsync(Vin(2)));
    }

    [Fact]
    public async Task VehicleToken_OnFleetOperator_AndOperatorToken_OnVehicleLink_ArePermissionDenied()
    {
        var asVehicle = await GetVehicleAs(Silo.VehicleToken(Vin(1), Fleet), Vin(1));
        var report = await Poll.FailsAsync(() => Operator.ReportAsync(
            new ReportRequest { Vin = Vin(1), Status = new StatusReport { Sequence = 1, CaptureTime = Silo.Clock.Now() } }));

        Assert.Equal(StatusCode.PermissionDenied, asVehicle.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, report.StatusCode);
    }

    [Fact]
    public async Task Viewer_MayReadButNotCommandOrCancel()
    {
        await KnownVehicleAsync(Vin(1), Fleet);
        var viewer = Silo.Operator(Silo.OperatorToken(Fleet, OperatorRole.Viewer));
        var sent = await Operator.SendCommandAsync(new SendCommandRequest { Vin = Vin(1), Name = "locate" });

        var read = await viewer.GetVehicleAsync(Vin(1));
        var command = await Poll.FailsAsync(() => viewer.SendCommandAsync(new SendCommandRequest { Vin = Vin(1), Name = "locate" }));
        var cancel = await Poll.FailsAsync(() => viewer.CancelCommandAsync(Vin(1), sent.Command.CommandId));

        Assert.Equal(Vin(1), read.Vin);
        Assert.Equal(StatusCode.PermissionDenied, command.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, cancel.StatusCode);
    }

    [Fact]
    public async Task OperatorOfAnotherFleet_GetsNotFound_ExactlyLikeAMissingVehicle()
    {
        await KnownVehicleAsync(Vin(1), Fleet);
        var stranger = Silo.Operator(Silo.OperatorToken(OtherFleet, OperatorRole.Admin));
        var send = new SendCommandRequest { Vin = Vin(1), Name = "locate" };
        var missingSend = new SendCommandRequest { Vin = Vin(7), Name = "locate" };

        var hidden = await Poll.FailsAsync(() => stranger.GetVehicleAsync(Vin(1)));
        var missing = await Poll.FailsAsync(() => stranger.GetVehicleAsync(Vin(7)));
        var hiddenSend = await Poll.FailsAsync(() => stranger.SendCommandAsync(send));
        var missingSendError = await Poll.FailsAsync(() => stranger.SendCommandAsync(missingSend));
        var hiddenList = await Poll.FailsAsync(() => stranger.ListCommandsAsync(new ListCommandsRequest { Vin = Vin(1) }));
        var foreignFleet = await Poll.FailsAsync(() => stranger.ListVehiclesAsync(new ListVehiclesRequest { FleetId = Fleet }));
        var own = await stranger.ListVehiclesAsync(new ListVehiclesRequest());

        Assert.Equal(StatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(missing.StatusCode, hidden.StatusCode);
        Assert.Equal(missing.Status.Detail.Replace(Vin(7), "VIN", StringComparison.Ordinal), hidden.Status.Detail.Replace(Vin(1), "VIN", StringComparison.Ordinal));
        Assert.Equal(StatusCode.NotFound, hiddenSend.StatusCode);
        Assert.Equal(StatusCode.NotFound, missingSendError.StatusCode);
        Assert.Equal(StatusCode.NotFound, hiddenList.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, foreignFleet.StatusCode);
        Assert.Empty(own.Vehicles);
    }

    [Fact]
    public async Task WatchVehicle_OfAnotherFleet_IsNotFound()
    {
        await KnownVehicleAsync(Vin(1), Fleet);
        var stranger = Silo.Operator(Silo.OperatorToken(OtherFleet));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var watch = stranger.WatchVehicle(Vin(1), stop.Token);

        var error = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(stop.Token));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }
}
