using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

/// <summary>Every validation rule reaches our client as INVALID_ARGUMENT whose message starts with the field's path.</summary>
public sealed class ValidationTests : SiloTestBase
{
    private const string GoodVin = "1VEHXCLE000000001";

    [Theory]
    [InlineData("get_vehicle_short_vin", "vin")]
    [InlineData("get_vehicle_vin_with_letter_o", "vin")]
    [InlineData("list_vehicles_bad_fleet", "fleet_id")]
    [InlineData("list_vehicles_negative_page_size", "page_size")]
    [InlineData("list_vehicles_bad_page_token", "page_token")]
    [InlineData("list_vehicles_foreign_page_token", "page_token")]
    [InlineData("send_unknown_command", "name")]
    [InlineData("send_wrong_parameters", "parameters")]
    [InlineData("send_charge_limit_out_of_range", "parameters.set_charge_limit.percent")]
    [InlineData("send_ttl_too_short", "ttl")]
    [InlineData("send_ttl_too_long", "ttl")]
    [InlineData("send_not_before_too_far", "not_before")]
    [InlineData("send_bad_idempotency_key", "idempotency_key")]
    [InlineData("get_command_empty_id", "command_id")]
    [InlineData("cancel_command_empty_id", "command_id")]
    [InlineData("list_commands_negative_page_size", "page_size")]
    [InlineData("watch_vehicle_bad_vin", "vin")]
    [InlineData("watch_fleet_interval_too_short", "min_interval")]
    [InlineData("report_missing_status", "status")]
    [InlineData("report_zero_sequence", "status.sequence")]
    [InlineData("report_capture_time_in_future", "status.capture_time")]
    [InlineData("report_latitude_out_of_range", "status.signals.latitude")]
    [InlineData("report_bad_vin", "vin")]
    public async Task Request_BreakingARule_IsInvalidArgumentNamingTheField(string rule, string field)
    {
        var error = await Poll.FailsAsync(() => CallAsync(rule));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field + ":", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hello_WithBadFirmwareVersion_EndsStreamWithInvalidArgumentNamingTheField()
    {
        await using var vehicle = new SimulatedVehicle(Silo.Invoker, GoodVin, Silo.VehicleToken(GoodVin, Fleet), Silo.Clock);
        vehicle.Open();

        await vehicle.SendAsync(new VehicleMessage { Hello = new Hello { Vin = GoodVin, FirmwareVersion = new string('x', 65) } });
        var ended = await vehicle.ReadUntilEndAsync();

        Assert.Equal(StatusCode.InvalidArgument, ended.StatusCode);
        Assert.StartsWith("hello.firmware_version:", ended.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CommandResult_WithoutOutcome_EarnsErrorNoticeNamingTheField()
    {
        await using var vehicle = await Silo.ConnectAsync(GoodVin, Fleet);

        await vehicle.SendAsync(new VehicleMessage { CommandResult = new CommandResult { CommandId = "c1" } });
        var notice = await vehicle.ReadAsync();

        Assert.Equal("INVALID_ARGUMENT", notice.Error.Code);
        Assert.StartsWith("command_result.outcome:", notice.Error.Message, StringComparison.Ordinal);
        Assert.Equal("c1", notice.Error.CommandId);
    }

    private Task CallAsync(string rule)
    {
        var now = Silo.Clock.GetUtcNow();
        var vehicle = new ApiClient(Silo.Invoker, Silo.VehicleToken(GoodVin, Fleet));
        var admin = Silo.Operator(Silo.OperatorToken(Fleet, OperatorRole.Admin));
        var locate = new SendCommandRequest { Vin = GoodVin, Name = "locate" };
        var report = new StatusReport { Sequence = 1, CaptureTime = Timestamp.FromDateTimeOffset(now) };
        return rule switch
        {
            "get_vehicle_short_vin" => admin.GetVehicleAsync("1VEH"),
            "get_vehicle_vin_with_letter_o" => admin.GetVehicleAsync("1VEHXCLEO00000001"),
            "list_vehicles_bad_fleet" => admin.ListVehiclesAsync(new ListVehiclesRequest { FleetId = "Bad Fleet" }),
            "list_vehicles_negative_page_size" => admin.ListVehiclesAsync(new ListVehiclesRequest { PageSize = -1 }),
            "list_vehicles_bad_page_token" => admin.ListVehiclesAsync(new ListVehiclesRequest { PageToken = "***" }),
            "list_vehicles_foreign_page_token" => admin.ListVehiclesAsync(new ListVehiclesRequest { PageToken = "bm9wZQ==" }),
            "send_unknown_command" => admin.SendCommandAsync(locate.With(r => r.Name = "self_destruct")),
            "send_wrong_parameters" => admin.SendCommandAsync(locate.With(r => r.Parameters = new CommandParameters { LockDoors = new LockDoorsParameters() })),
            "send_charge_limit_out_of_range" => admin.SendCommandAsync(locate.With(r =>
            {
                r.Name = "set_charge_limit";
                r.Parameters = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 101 } };
            })),
            "send_ttl_too_short" => admin.SendCommandAsync(locate.With(r => r.Ttl = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(10)))),
            "send_ttl_too_long" => admin.SendCommandAsync(locate.With(r => r.Ttl = Duration.FromTimeSpan(TimeSpan.FromDays(8)))),
            "send_not_before_too_far" => admin.SendCommandAsync(locate.With(r => r.NotBefore = Timestamp.FromDateTimeOffset(now.AddDays(31)))),
            "send_bad_idempotency_key" => admin.SendCommandAsync(locate.With(r => r.IdempotencyKey = "no spaces allowed")),
            "get_command_empty_id" => admin.GetCommandAsync(GoodVin, ""),
            "cancel_command_empty_id" => admin.CancelCommandAsync(GoodVin, ""),
            "list_commands_negative_page_size" => admin.ListCommandsAsync(new ListCommandsRequest { Vin = GoodVin, PageSize = -5 }),
            "watch_vehicle_bad_vin" => FirstAsync(admin.WatchVehicle("bad", Bounded())),
            "watch_fleet_interval_too_short" => FirstAsync(admin.WatchFleet(
                new WatchFleetRequest { FleetId = Fleet, MinInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1)) }, Bounded())),
            "report_missing_status" => vehicle.ReportAsync(new ReportRequest { Vin = GoodVin }),
            "report_zero_sequence" => vehicle.ReportAsync(new ReportRequest { Vin = GoodVin, Status = report.With(s => s.Sequence = 0) }),
            "report_capture_time_in_future" => vehicle.ReportAsync(new ReportRequest
            {
                Vin = GoodVin,
                Status = report.With(s => s.CaptureTime = Timestamp.FromDateTimeOffset(now.AddHours(1))),
            }),
            "report_latitude_out_of_range" => vehicle.ReportAsync(new ReportRequest
            {
                Vin = GoodVin,
                Status = report.With(s => s.Signals = Signal.Position(-91, 0)),
            }),
            "report_bad_vin" => vehicle.ReportAsync(new ReportRequest { Vin = "short", Status = report }),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "unknown rule"),
        };
    }

    private static CancellationToken Bounded() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    private static async Task FirstAsync<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await call.ResponseStream.MoveNext(timeout.Token);
        }
    }
}
