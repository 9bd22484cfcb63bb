using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

public sealed class VehicleFlowTests : SiloTestBase
{
    [Fact]
    public async Task Connect_ThenReport_OperatorReadsMergedStateOnline()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);

        var first = await vehicle.ReportAsync(Signal.Position(48.1, 11.5));
        var firstAck = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Ack);
        var second = await vehicle.ReportAsync(Signal.Speed(42));
        var secondAck = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Ack);
        var state = await Operator.GetVehicleAsync(Vin(1));

        Assert.Equal(0ul, vehicle.Welcome.DurableSequence);
        Assert.Equal(10u, vehicle.Welcome.Limits.MaxReportsPerSecond);
        Assert.False(string.IsNullOrEmpty(vehicle.Welcome.SessionId));
        Assert.Equal(first, firstAck.Ack.Sequence);
        Assert.Equal(second, secondAck.Ack.Sequence);
        Assert.Equal(Vin(1), state.Vin);
        Assert.Equal(Fleet, state.FleetId);
        Assert.Equal(ConnectionState.Online, state.ConnectionState);
        Assert.Equal(48.1, state.Signals.Latitude);
        Assert.Equal(11.5, state.Signals.Longitude);
        Assert.Equal(42, state.Signals.Speed);
        Assert.Equal("fw-1.2", state.FirmwareVersion);
        Assert.Equal("sw-3.4", state.SoftwareVersion);
    }

    [Fact]
    public async Task Connect_WhenStreamEnds_VehicleGoesOffline()
    {
        var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await vehicle.ReportAsync(Signal.Speed(1));
        await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Ack);

        await vehicle.HangUpAsync();
        var state = await Poll.UntilAsync(() => Operator.GetVehicleAsync(Vin(1)), v => v.ConnectionState == ConnectionState.Offline, "offline");

        Assert.Equal(ConnectionState.Offline, state.ConnectionState);
        await vehicle.DisposeAsync();
    }

    [Fact]
    public async Task Report_Unary_IsAckedAndApplied()
    {
        var link = new ApiClient(Silo.Invoker, Silo.VehicleToken(Vin(2), Fleet));
        var request = new ReportRequest { Vin = Vin(2), Status = new StatusReport { Sequence = 1, CaptureTime = Silo.Clock.Now(), Signals = Signal.Speed(7) } };

        var response = await link.ReportAsync(request);
        var state = await Operator.GetVehicleAsync(Vin(2));

        Assert.Equal(1ul, response.Ack.Sequence);
        Assert.Equal(7, state.Signals.Speed);
        Assert.Equal(Fleet, state.FleetId);
    }

    [Fact]
    public async Task Connect_BadReport_ErrorNoticeNamesFieldAndStreamStaysOpen()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);

        await vehicle.SendAsync(new VehicleMessage { Status = vehicle.Report(1, Signal.Position(123, 0)) });
        var error = await vehicle.ReadAsync();
        await vehicle.SendAsync(new VehicleMessage { Status = vehicle.Report(1, Signal.Position(45, 0)) });
        var ack = await vehicle.ReadAsync();

        Assert.Equal(ServerMessage.KindOneofCase.Error, error.KindCase);
        Assert.Equal("INVALID_ARGUMENT", error.Error.Code);
        Assert.StartsWith("status.signals.latitude:", error.Error.Message, StringComparison.Ordinal);
        Assert.Equal(1ul, error.Error.Sequence);
        Assert.Equal(ServerMessage.KindOneofCase.Ack, ack.KindCase);
        Assert.Equal(1ul, ack.Ack.Sequence);
    }

    [Fact]
    public async Task Connect_EmptyMessageAndSecondHello_EarnErrorNotices()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);

        await vehicle.SendAsync(new VehicleMessage());
        var empty = await vehicle.ReadAsync();
        await vehicle.SendAsync(new VehicleMessage { Hello = new Hello { Vin = Vin(1) } });
        var hello = await vehicle.ReadAsync();
        await vehicle.SendAsync(new VehicleMessage { CommandResult = new CommandResult { CommandId = "nope", Outcome = CommandOutcome.Succeeded } });
        var unknown = await vehicle.ReadAsync();

        Assert.StartsWith("kind:", empty.Error.Message, StringComparison.Ordinal);
        Assert.StartsWith("hello:", hello.Error.Message, StringComparison.Ordinal);
        Assert.Equal("NOT_FOUND", unknown.Error.Code);
        Assert.Equal("nope", unknown.Error.CommandId);
    }

    [Fact]
    public async Task Connect_FirstMessageNotHello_IsInvalidArgument()
    {
        await using var vehicle = new SimulatedVehicle(Silo.Invoker, Vin(1), Silo.VehicleToken(Vin(1), Fleet), Silo.Clock);
        vehicle.Open();

        await vehicle.SendAsync(new VehicleMessage { Heartbeat = new Heartbeat() });
        var ended = await vehicle.ReadUntilEndAsync();

        Assert.Equal(StatusCode.InvalidArgument, ended.StatusCode);
        Assert.StartsWith("hello:", ended.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_SecondStreamOfSameVin_AbortsTheFirst()
    {
        await using var first = await Silo.ConnectAsync(Vin(1), Fleet);

        await using var second = await Silo.ConnectAsync(Vin(1), Fleet);
        var ended = await first.ReadUntilEndAsync();
        await second.ReportAsync(Signal.Speed(3));
        var ack = await second.ReadUntilAsync(ServerMessage.KindOneofCase.Ack);

        Assert.Equal(StatusCode.Aborted, ended.StatusCode);
        Assert.Equal(1ul, ack.Ack.Sequence);
        Assert.Equal(ConnectionState.Online, (await Operator.GetVehicleAsync(Vin(1))).ConnectionState);
    }

    [Fact]
    public async Task Connect_ReportsFasterThanAllowed_ThrottledThenResourceExhausted()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await using var neighbour = await Silo.ConnectAsync(Vin(2), Fleet);

        // The fake clock stands still, so the bucket (burst 20) never refills.
        for (var i = 0; i < 20; i++)
        {
            await vehicle.ReportAsync(Signal.Speed(i));
            Assert.Equal(ServerMessage.KindOneofCase.Ack, (await vehicle.ReadAsync()).KindCase);
        }

        await vehicle.ReportAsync(Signal.Speed(99));
        var throttle = await vehicle.ReadAsync();
        for (var i = 0; i < 5; i++)
        {
            await vehicle.ReportAsync(Signal.Speed(99));
            Assert.Equal(ServerMessage.KindOneofCase.Throttle, (await vehicle.ReadAsync()).KindCase);
        }

        await vehicle.ReportAsync(Signal.Speed(99));
        var ended = await vehicle.ReadUntilEndAsync();
        await neighbour.ReportAsync(Signal.Speed(5));
        var neighbourAck = await neighbour.ReadAsync();

        Assert.Equal(ServerMessage.KindOneofCase.Throttle, throttle.KindCase);
        Assert.Equal(Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)), throttle.Throttle.RetryAfter);
        Assert.Equal(StatusCode.ResourceExhausted, ended.StatusCode);
        Assert.Equal(ServerMessage.KindOneofCase.Ack, neighbourAck.KindCase);
        Assert.Equal(19, (await Operator.GetVehicleAsync(Vin(1))).Signals.Speed);
    }

    [Fact]
    public async Task Connect_ThrottledVehicleThatWaits_IsAckedAgain()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        for (var i = 0; i < 20; i++)
        {
            await vehicle.ReportAsync(Signal.Speed(i));
            await vehicle.ReadAsync();
        }

        await vehicle.ReportAsync(Signal.Speed(50));
        var throttle = await vehicle.ReadAsync();
        Silo.Clock.Advance(throttle.Throttle.RetryAfter.ToTimeSpan());
        var sequence = await vehicle.ReportAsync(Signal.Speed(51));
        var ack = await vehicle.ReadAsync();

        Assert.Equal(ServerMessage.KindOneofCase.Throttle, throttle.KindCase);
        Assert.Equal(ServerMessage.KindOneofCase.Ack, ack.KindCase);
        Assert.Equal(sequence, ack.Ack.Sequence);
    }

    [Fact]
    public async Task ListVehicles_ReturnsFleetVehiclesByVin_Paged()
    {
        for (var n = 3; n >= 1; n--)
        {
            var vehicle = await Silo.ConnectAsync(Vin(n), Fleet);
            await vehicle.HangUpAsync();
            await vehicle.DisposeAsync();
        }

        var other = await Silo.ConnectAsync(Vin(9), OtherFleet);
        await other.DisposeAsync();

        var first = await Poll.UntilAsync(
            () => Operator.ListVehiclesAsync(new ListVehiclesRequest { PageSize = 2 }),
            page => page.Vehicles.Count == 2,
            "two vehicles listed");
        var second = await Operator.ListVehiclesAsync(new ListVehiclesRequest { PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal([Vin(1), Vin(2)], first.Vehicles.Select(v => v.Vin));
        Assert.NotEmpty(first.NextPageToken);
        Assert.Equal([Vin(3)], second.Vehicles.Select(v => v.Vin));
        Assert.Empty(second.NextPageToken);
    }
}
