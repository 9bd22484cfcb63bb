using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Tests;

public sealed class RequestValidatorTests
{
    private const string Vin = "1M8GDM9AXKP042788";

    private readonly FakeTimeProvider _clock = new(TestTime.Start);
    private readonly RequestValidator _validator;

    public RequestValidatorTests()
    {
        _validator = new RequestValidator(new ValidationOptions(), _clock);
    }

    private Timestamp Now(TimeSpan offset = default) => Timestamp.FromDateTimeOffset(_clock.GetUtcNow() + offset);

    private StatusReport ValidStatus() => new()
    {
        Sequence = 1,
        CaptureTime = Now(),
        Signals = new Signals { Speed = 42, Latitude = 48.1, Longitude = 11.6, StateOfCharge = 80 },
    };

    [Fact]
    public void VehicleMessage_WhenNoKindSet_Fails()
    {
        Assert.Equal(
            new ValidationError("kind", "must set one of hello, status, command_result, heartbeat"),
            _validator.Validate(new VehicleMessage()));
    }

    [Fact]
    public void VehicleMessage_WhenEachKindValid_IsValid()
    {
        Assert.Null(_validator.Validate(new VehicleMessage { Hello = new Hello { Vin = Vin, FirmwareVersion = "1.0" } }));
        Assert.Null(_validator.Validate(new VehicleMessage { Status = ValidStatus() }));
        Assert.Null(_validator.Validate(new VehicleMessage
        {
            CommandResult = new CommandResult { CommandId = "c1", Outcome = CommandOutcome.Succeeded },
        }));
        Assert.Null(_validator.Validate(new VehicleMessage { Heartbeat = new Heartbeat() }));
    }

    [Fact]
    public void Hello_WhenVinInvalid_NamesHelloVin()
    {
        var message = new VehicleMessage { Hello = new Hello { Vin = "1M8GDM9AXKP04278O" } };

        Assert.Equal(
            new ValidationError("hello.vin", "character 17 ('O') is not allowed: use digits and capital letters except I, O and Q"),
            _validator.Validate(message));
    }

    [Fact]
    public void Hello_WhenVersionsOrResumeMalformed_NamesTheField()
    {
        var badFirmware = new Hello { Vin = Vin, FirmwareVersion = new string('1', 65) };
        var badSoftware = new Hello { Vin = Vin, SoftwareVersion = "v\u0001" };
        var badResume = new Hello { Vin = Vin, Resume = new ResumeInfo { LastSentSequence = 9, LastCommandId = "a b" } };
        var goodResume = new Hello { Vin = Vin, Resume = new ResumeInfo { LastSentSequence = 9, LastCommandId = "c-9" } };

        Assert.Equal("hello.firmware_version", _validator.Validate(badFirmware)?.Field);
        Assert.Equal(new ValidationError("hello.software_version", "character 2 (U+0001) is not printable ASCII"), _validator.Validate(badSoftware));
        Assert.Equal("hello.resume.last_command_id", _validator.Validate(badResume)?.Field);
        Assert.Null(_validator.Validate(goodResume));
    }

    [Fact]
    public void Hello_WithCheckDigitOption_RejectsWrongCheckDigit()
    {
        var strict = new RequestValidator(new ValidationOptions { VerifyVinCheckDigit = true }, _clock);
        var hello = new Hello { Vin = "WVWZZZ1JZXW000001" };

        Assert.Null(_validator.Validate(hello));
        Assert.Equal(new ValidationError("hello.vin", "check digit (character 9) is 'Z' but must be '0'"), strict.Validate(hello));
    }

    [Fact]
    public void StatusReport_WhenSequenceZero_Fails()
    {
        var status = ValidStatus();
        status.Sequence = 0;

        Assert.Equal(new ValidationError("status.sequence", "must be greater than 0"), _validator.Validate(new VehicleMessage { Status = status }));
    }

    [Fact]
    public void StatusReport_WhenCaptureTimeMissing_Fails()
    {
        var status = ValidStatus();
        status.CaptureTime = null;

        Assert.Equal(new ValidationError("status.capture_time", "is required"), _validator.Validate(status));
    }

    [Fact]
    public void StatusReport_WhenCaptureTimeWithinSkew_IsValid()
    {
        var status = ValidStatus();
        status.CaptureTime = Now(TimeSpan.FromMinutes(4));

        Assert.Null(_validator.Validate(status));
    }

    [Fact]
    public void StatusReport_WhenCaptureTimeBeyondSkew_Fails()
    {
        var status = ValidStatus();
        status.CaptureTime = Now(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        var error = _validator.Validate(status);

        Assert.Equal("status.capture_time", error?.Field);
        Assert.StartsWith("must not be more than 5 minutes in the future", error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StatusReport_WhenClockMovesOn_AcceptsFormerlyFutureTime()
    {
        var status = ValidStatus();
        status.CaptureTime = Now(TimeSpan.FromMinutes(10));
        Assert.NotNull(_validator.Validate(status));

        _clock.Advance(TimeSpan.FromMinutes(5));

        Assert.Null(_validator.Validate(status));
    }

    [Fact]
    public void StatusReport_SkewIsConfigurable()
    {
        var tight = new RequestValidator(new ValidationOptions { MaxClockSkew = TimeSpan.FromSeconds(10) }, _clock);
        var status = ValidStatus();
        status.CaptureTime = Now(TimeSpan.FromSeconds(11));

        Assert.Null(_validator.Validate(status));
        Assert.Equal("status.capture_time", tight.Validate(status)?.Field);
    }

    [Fact]
    public void StatusReport_WhenLatitudeOutOfRange_NamesTheSignal()
    {
        var status = ValidStatus();
        status.Signals.Latitude = 91;

        Assert.Equal(
            "status.signals.latitude: must be between -90 and 90",
            _validator.Validate(new VehicleMessage { Status = status })?.ToString());
    }

    [Fact]
    public void StatusReport_ExtraLimitComesFromOptions()
    {
        var small = new RequestValidator(new ValidationOptions { MaxExtraSignals = 1 }, _clock);
        var status = ValidStatus();
        status.Signals.Extra.Add("Vehicle.Custom.A", new SignalValue { IntValue = 1 });
        status.Signals.Extra.Add("Vehicle.Custom.B", new SignalValue { IntValue = 2 });

        Assert.Null(_validator.Validate(status));
        Assert.Equal(new ValidationError("status.signals.extra", "must have at most 1 entries, got 2"), small.Validate(status));
    }

    [Fact]
    public void StatusReport_WithTypedSignals_AllocatesNothingWhenValid()
    {
        // Runs for every report of every vehicle: the success path must not allocate (error paths may). Reports
        // with extra signals are left out: enumerating MapField boxes its enumerator unless the JIT optimizes it
        // away, which it does in Release but not in Debug test runs.
        var message = new VehicleMessage { Status = ValidStatus() };
        message.Status.Signals.DoorLockState = DoorLockState.AllLocked;
        message.Status.Signals.LowVoltageSystemState = LowVoltageSystemState.On;
        for (var i = 0; i < 100; i++)
        {
            Assert.Null(_validator.Validate(message));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            _validator.Validate(message);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void StatusReport_WithoutSignals_IsValid()
    {
        var status = ValidStatus();
        status.Signals = null;

        Assert.Null(_validator.Validate(status));
    }

    [Fact]
    public void CommandResult_WhenOutcomeUnspecified_Fails()
    {
        var message = new VehicleMessage { CommandResult = new CommandResult { CommandId = "c1" } };

        Assert.Equal(new ValidationError("command_result.outcome", "must be SUCCEEDED, FAILED or REJECTED"), _validator.Validate(message));
    }

    [Fact]
    public void CommandResult_WhenIdMissingOrMessageLongOrPayloadLarge_Fails()
    {
        var noId = new CommandResult { Outcome = CommandOutcome.Failed };
        var longMessage = new CommandResult { CommandId = "c1", Outcome = CommandOutcome.Failed, Message = new string('m', 1025) };
        var payload = new Struct();
        for (var i = 0; i < 65; i++)
        {
            payload.Fields.Add("f" + i, Value.ForNumber(i));
        }

        var largePayload = new CommandResult { CommandId = "c1", Outcome = CommandOutcome.Succeeded, Payload = payload };

        Assert.Equal(new ValidationError("command_result.command_id", "is required"), _validator.Validate(noId));
        Assert.Equal(new ValidationError("command_result.message", "must be at most 1024 characters, got 1025"), _validator.Validate(longMessage));
        Assert.Equal(new ValidationError("command_result.payload", "must have at most 64 fields, got 65"), _validator.Validate(largePayload));
    }

    [Fact]
    public void Heartbeat_WhenSentTimeFarInFuture_Fails()
    {
        var heartbeat = new Heartbeat { SentTime = Now(TimeSpan.FromHours(1)) };

        Assert.Equal("heartbeat.sent_time", _validator.Validate(new VehicleMessage { Heartbeat = heartbeat })?.Field);
        Assert.Null(_validator.Validate(new Heartbeat { SentTime = Now() }));
    }

    [Fact]
    public void ReportRequest_ChecksVinAndStatus()
    {
        Assert.Null(_validator.Validate(new ReportRequest { Vin = Vin, Status = ValidStatus() }));
        Assert.Equal(new ValidationError("vin", "is required"), _validator.Validate(new ReportRequest { Status = ValidStatus() }));
        Assert.Equal(new ValidationError("status", "is required"), _validator.Validate(new ReportRequest { Vin = Vin }));

        var badStatus = ValidStatus();
        badStatus.Signals.Heading = 400;
        Assert.Equal(
            new ValidationError("status.signals.heading", "must be between 0 and 360"),
            _validator.Validate(new ReportRequest { Vin = Vin, Status = badStatus }));
    }

    [Fact]
    public void GetVehicle_WatchVehicle_CheckVin()
    {
        Assert.Null(_validator.Validate(new GetVehicleRequest { Vin = Vin }));
        Assert.Equal(new ValidationError("vin", "must be exactly 17 characters, got 3"), _validator.Validate(new GetVehicleRequest { Vin = "ABC" }));
        Assert.Null(_validator.Validate(new WatchVehicleRequest { Vin = Vin }));
        Assert.Equal(new ValidationError("vin", "is required"), _validator.Validate(new WatchVehicleRequest()));
    }

    [Fact]
    public void ListVehicles_ChecksFleetPageSizeAndToken()
    {
        Assert.Null(_validator.Validate(new ListVehiclesRequest()));
        Assert.Null(_validator.Validate(new ListVehiclesRequest { FleetId = "berlin-1", Online = true, PageSize = 5000, PageToken = "abc=" }));
        Assert.Equal("fleet_id", _validator.Validate(new ListVehiclesRequest { FleetId = "Berlin" })?.Field);
        Assert.Equal(new ValidationError("page_size", "must not be negative"), _validator.Validate(new ListVehiclesRequest { PageSize = -1 }));
        Assert.Equal("page_token", _validator.Validate(new ListVehiclesRequest { PageToken = "not a token" })?.Field);
    }

    [Fact]
    public void ListCommands_ChecksVinPageSizeAndToken()
    {
        Assert.Null(_validator.Validate(new ListCommandsRequest { Vin = Vin, PageSize = 10 }));
        Assert.Equal("vin", _validator.Validate(new ListCommandsRequest())?.Field);
        Assert.Equal("page_size", _validator.Validate(new ListCommandsRequest { Vin = Vin, PageSize = -5 })?.Field);
        Assert.Equal("page_token", _validator.Validate(new ListCommandsRequest { Vin = Vin, PageToken = "%%" })?.Field);
    }

    [Fact]
    public void GetAndCancelCommand_CheckVinAndCommandId()
    {
        Assert.Null(_validator.Validate(new GetCommandRequest { Vin = Vin, CommandId = "c1" }));
        Assert.Equal(new ValidationError("command_id", "is required"), _validator.Validate(new GetCommandRequest { Vin = Vin }));
        Assert.Null(_validator.Validate(new CancelCommandRequest { Vin = Vin, CommandId = "c1" }));
        Assert.Equal("vin", _validator.Validate(new CancelCommandRequest { CommandId = "c1" })?.Field);
    }

    private static SendCommandRequest ValidSend() => new()
    {
        Vin = Vin,
        Name = "set_charge_limit",
        Parameters = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 80 } },
    };

    [Fact]
    public void SendCommand_WhenValid_IsValid()
    {
        var request = ValidSend();
        request.Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(10));
        request.NotBefore = Now(TimeSpan.FromDays(1));
        request.IdempotencyKey = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
        request.WaitForResult = true;

        Assert.Null(_validator.Validate(request));
    }

    [Fact]
    public void SendCommand_WhenParameterOutOfRange_NamesIt()
    {
        var request = ValidSend();
        request.Parameters.SetChargeLimit.Percent = 101;

        Assert.Equal(new ValidationError("parameters.set_charge_limit.percent", "must be between 50 and 100"), _validator.Validate(request));
    }

    [Fact]
    public void SendCommand_WhenNameUnknown_Fails()
    {
        var request = new SendCommandRequest { Vin = Vin, Name = "open_sunroof" };

        Assert.Equal("name", _validator.Validate(request)?.Field);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(604_801.0)]
    public void SendCommand_WhenTtlOutOfBounds_Fails(double seconds)
    {
        var request = ValidSend();
        request.Ttl = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds));

        Assert.Equal(new ValidationError("ttl", "must be between 1 seconds and 7 days"), _validator.Validate(request));
    }

    [Fact]
    public void SendCommand_WhenNotBeforeTooFarAhead_Fails()
    {
        var request = ValidSend();
        request.NotBefore = Now(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));

        Assert.Equal(new ValidationError("not_before", "must not be more than 30 days ahead"), _validator.Validate(request));
    }

    [Fact]
    public void SendCommand_WhenIdempotencyKeyMalformed_Fails()
    {
        var request = ValidSend();
        request.IdempotencyKey = "key with spaces";

        Assert.Equal("idempotency_key", _validator.Validate(request)?.Field);
    }

    [Fact]
    public void WatchFleet_ChecksFleetAndInterval()
    {
        Assert.Null(_validator.Validate(new WatchFleetRequest()));
        Assert.Null(_validator.Validate(new WatchFleetRequest { FleetId = "f1", MinInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) }));
        Assert.Equal(
            new ValidationError("min_interval", "must be between 100 ms and 10 minutes"),
            _validator.Validate(new WatchFleetRequest { MinInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(99)) }));
        Assert.Equal(
            new ValidationError("min_interval", "must be between 100 ms and 10 minutes"),
            _validator.Validate(new WatchFleetRequest { MinInterval = Duration.FromTimeSpan(TimeSpan.FromMinutes(11)) }));
        Assert.Equal("fleet_id", _validator.Validate(new WatchFleetRequest { FleetId = "-" })?.Field);
    }

    [Fact]
    public void ValidateMessage_DispatchesByType()
    {
        IMessage[] invalid =
        [
            new VehicleMessage(), new ReportRequest(), new GetVehicleRequest(), new ListVehiclesRequest { PageSize = -1 },
            new SendCommandRequest(), new GetCommandRequest(), new CancelCommandRequest(), new ListCommandsRequest(),
            new WatchVehicleRequest(), new WatchFleetRequest { FleetId = "X" },
        ];

        Assert.All(invalid, m => Assert.NotNull(_validator.Validate(m)));
        Assert.Null(_validator.Validate((IMessage)new ServerMessage()));
        Assert.Null(_validator.Validate((IMessage)new GetVehicleRequest { Vin = Vin }));
    }

    [Fact]
    public void EffectiveValues_ApplyDefaults()
    {
        var withoutTtl = new SendCommandRequest { Vin = Vin, Name = "unlock_doors" };
        var withTtl = new SendCommandRequest { Vin = Vin, Name = "unlock_doors", Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(30)) };

        Assert.Equal(100, _validator.EffectivePageSize(0));
        Assert.Equal(1000, _validator.EffectivePageSize(100_000));
        Assert.Equal(TimeSpan.FromSeconds(1), _validator.EffectiveWatchInterval(new WatchFleetRequest()));
        Assert.Equal(
            TimeSpan.FromSeconds(5),
            _validator.EffectiveWatchInterval(new WatchFleetRequest { MinInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)) }));
        Assert.Equal(TimeSpan.FromMinutes(2), _validator.EffectiveTtl(withoutTtl));
        Assert.Equal(TimeSpan.FromMinutes(30), _validator.EffectiveTtl(withTtl));
    }

    [Fact]
    public void Constructor_WhenOptionsContradict_Throws()
    {
        var options = new ValidationOptions { MinCommandTtl = TimeSpan.FromHours(2), MaxCommandTtl = TimeSpan.FromHours(1) };

        var ex = Assert.Throws<ArgumentException>(() => new RequestValidator(options, _clock));

        Assert.Equal("MaxCommandTtl", ex.ParamName);
    }
}
