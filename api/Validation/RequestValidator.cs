using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Vehicles.Api.Commands;
using Vehicles.Api.V1;
using static System.FormattableString;

namespace Vehicles.Api.Validation;

/// <summary>
/// Validates every vehicles.v1 request and vehicle message against the documented rules, returning the first
/// problem as a <see cref="ValidationError"/> (null when valid). Field paths start at the message passed in, in
/// proto field names: <c>status.signals.latitude</c> for a <see cref="VehicleMessage"/>. Stateless apart from the
/// clock and options; thread-safe.
/// </summary>
public sealed class RequestValidator
{
    /// <summary>Longest CommandResult.message.</summary>
    public const int MaxResultMessageLength = 1024;

    /// <summary>Most top-level fields in CommandResult.payload.</summary>
    public const int MaxResultPayloadFields = 64;

    private const string StatusPath = "status";
    private const string StatusSignalsPath = "status.signals";

    private readonly ValidationOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly CommandCatalogue _catalogue;

    /// <summary>Creates a validator; checks the options at once so a bad configuration fails at start-up.</summary>
    /// <exception cref="ArgumentException">The options contradict each other.</exception>
    public RequestValidator(ValidationOptions options, TimeProvider timeProvider, CommandCatalogue? catalogue = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.EnsureValid();
        _options = options;
        _timeProvider = timeProvider;
        _catalogue = catalogue ?? CommandCatalogue.Default;
    }

    /// <summary>The options in force.</summary>
    public ValidationOptions Options => _options;

    /// <summary>The catalogue commands are checked against.</summary>
    public CommandCatalogue Catalogue => _catalogue;

    /// <summary>
    /// Validates any vehicles.v1 request or vehicle message by its type, for a server interceptor. Messages with no
    /// rules of their own (responses, server messages) are valid.
    /// </summary>
    public ValidationError? Validate(IMessage message) => message switch
    {
        null => throw new ArgumentNullException(nameof(message)),
        VehicleMessage m => Validate(m),
        ReportRequest m => Validate(m),
        GetVehicleRequest m => Validate(m),
        ListVehiclesRequest m => Validate(m),
        SendCommandRequest m => Validate(m),
        GetCommandRequest m => Validate(m),
        CancelCommandRequest m => Validate(m),
        ListCommandsRequest m => Validate(m),
        WatchVehicleRequest m => Validate(m),
        WatchFleetRequest m => Validate(m),
        FindNearbyVehiclesRequest m => Validate(m),
        _ => null,
    };

    // Vehicle side.

    /// <summary>A message on the Connect stream: exactly one kind set, and that kind valid.</summary>
    public ValidationError? Validate(VehicleMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.KindCase switch
        {
            VehicleMessage.KindOneofCase.Hello => Validate(message.Hello, "hello"),
            VehicleMessage.KindOneofCase.Status => Validate(message.Status, "status"),
            VehicleMessage.KindOneofCase.CommandResult => Validate(message.CommandResult, "command_result"),
            VehicleMessage.KindOneofCase.Heartbeat => Validate(message.Heartbeat, "heartbeat"),
            _ => new ValidationError("kind", "must set one of hello, status, command_result, heartbeat"),
        };
    }

    /// <summary>The first message of a session.</summary>
    public ValidationError? Validate(Hello hello, string path = "hello")
    {
        ArgumentNullException.ThrowIfNull(hello);
        return FieldRules.Vin(hello.Vin, FieldPath.Join(path, "vin"), _options.VerifyVinCheckDigit)
            ?? FieldRules.PrintableAscii(hello.FirmwareVersion, FieldRules.MaxVersionLength, FieldPath.Join(path, "firmware_version"))
            ?? FieldRules.PrintableAscii(hello.SoftwareVersion, FieldRules.MaxVersionLength, FieldPath.Join(path, "software_version"))
            ?? (hello.Resume is { LastCommandId.Length: > 0 } resume
                ? FieldRules.CommandId(resume.LastCommandId, FieldPath.Join(path, "resume.last_command_id"))
                : null);
    }

    /// <summary>A status report: positive sequence, capture time present and not in the future, signals in range.</summary>
    public ValidationError? Validate(StatusReport status, string path = "status")
    {
        ArgumentNullException.ThrowIfNull(status);

        // Field paths are built only on failure, or taken from constants for the usual prefix: this runs for every
        // report of every vehicle.
        if (status.Sequence == 0)
        {
            return FieldRules.SequenceNumber(status.Sequence, FieldPath.Join(path, "sequence"));
        }

        if (status.CaptureTime is null
            || !FieldRules.IsNotInFuture(status.CaptureTime, _timeProvider.GetUtcNow(), _options.MaxClockSkew))
        {
            return FieldRules.NotInFuture(status.CaptureTime, _timeProvider.GetUtcNow(), _options.MaxClockSkew, FieldPath.Join(path, "capture_time"));
        }

        var signalsPath = path == StatusPath ? StatusSignalsPath : FieldPath.Join(path, "signals");
        return SignalRules.Validate(status.Signals, signalsPath, _options.MaxExtraSignals);
    }

    /// <summary>A vehicle's result for a command: id, a real outcome, a bounded message and payload.</summary>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "One instance overload set per message type is the API.")]
    public ValidationError? Validate(CommandResult result, string path = "command_result")
    {
        ArgumentNullException.ThrowIfNull(result);
        return FieldRules.CommandId(result.CommandId, FieldPath.Join(path, "command_id"))
            ?? (result.Outcome is CommandOutcome.Succeeded or CommandOutcome.Failed or CommandOutcome.Rejected
                ? null
                : new ValidationError(FieldPath.Join(path, "outcome"), "must be SUCCEEDED, FAILED or REJECTED"))
            ?? FieldRules.MaxLength(result.Message, MaxResultMessageLength, FieldPath.Join(path, "message"))
            ?? (result.Payload is null || result.Payload.Fields.Count <= MaxResultPayloadFields
                ? null
                : new ValidationError(
                    FieldPath.Join(path, "payload"),
                    Invariant($"must have at most {MaxResultPayloadFields} fields, got {result.Payload.Fields.Count}")));
    }

    /// <summary>A heartbeat: its optional send time must not be far in the future.</summary>
    public ValidationError? Validate(Heartbeat heartbeat, string path = "heartbeat")
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        return heartbeat.SentTime is null
            ? null
            : FieldRules.NotInFuture(heartbeat.SentTime, _timeProvider.GetUtcNow(), _options.MaxClockSkew, FieldPath.Join(path, "sent_time"));
    }

    /// <summary>A unary report: a VIN and a status report with the stream's rules.</summary>
    public ValidationError? Validate(ReportRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return FieldRules.Vin(request.Vin, "vin", _options.VerifyVinCheckDigit)
            ?? (request.Status is null ? new ValidationError("status", "is required") : Validate(request.Status, "status"));
    }

    // Operator side.

    /// <summary>GetVehicle: a VIN.</summary>
    public ValidationError? Validate(GetVehicleRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Vin(request.Vin);
    }

    /// <summary>ListVehicles: optional fleet, page size not negative, page token well-formed.</summary>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "One instance overload set per message type is the API.")]
    public ValidationError? Validate(ListVehiclesRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (request.FleetId.Length == 0 ? null : FieldRules.FleetId(request.FleetId, "fleet_id"))
            ?? FieldRules.PageSize(request.PageSize, "page_size")
            ?? FieldRules.PageToken(request.PageToken, "page_token");
    }

    /// <summary>
    /// SendCommand: VIN, a catalogue command with valid typed parameters, TTL and not_before in bounds, a
    /// well-formed idempotency key.
    /// </summary>
    public ValidationError? Validate(SendCommandRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Vin(request.Vin)
            ?? _catalogue.Validate(request.Name, request.Parameters)
            ?? FieldRules.DurationInRange(request.Ttl, _options.MinCommandTtl, _options.MaxCommandTtl, "ttl")
            ?? FieldRules.NotFurtherAheadThan(request.NotBefore, _timeProvider.GetUtcNow(), _options.MaxCommandSchedule, "not_before")
            ?? FieldRules.IdempotencyKey(request.IdempotencyKey, "idempotency_key");
    }

    /// <summary>GetCommand: VIN and command id.</summary>
    public ValidationError? Validate(GetCommandRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Vin(request.Vin) ?? FieldRules.CommandId(request.CommandId, "command_id");
    }

    /// <summary>CancelCommand: VIN and command id.</summary>
    public ValidationError? Validate(CancelCommandRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Vin(request.Vin) ?? FieldRules.CommandId(request.CommandId, "command_id");
    }

    /// <summary>ListCommands: VIN, page size not negative, page token well-formed.</summary>
    public ValidationError? Validate(ListCommandsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Vin(request.Vin)
            ?? FieldRules.PageSize(request.PageSize, "page_size")
            ?? FieldRules.PageToken(request.PageToken, "page_token");
    }

    /// <summary>WatchVehicle: a VIN.</summary>
    public ValidationError? Validate(WatchVehicleRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Vin(request.Vin);
    }

    /// <summary>WatchFleet: optional fleet, min_interval in bounds.</summary>
    public ValidationError? Validate(WatchFleetRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (request.FleetId.Length == 0 ? null : FieldRules.FleetId(request.FleetId, "fleet_id"))
            ?? FieldRules.DurationInRange(request.MinInterval, _options.MinWatchInterval, _options.MaxWatchInterval, "min_interval");
    }

    /// <summary>FindNearbyVehicles: a fleet, a point on the globe, a radius of up to 1000 km, at most 1000 results.</summary>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "One instance overload set per message type is the API.")]
    public ValidationError? Validate(FindNearbyVehiclesRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return FieldRules.FleetId(request.FleetId, "fleet_id")
            ?? FieldRules.InRange(request.Latitude, -90, 90, "latitude")
            ?? FieldRules.InRange(request.Longitude, -180, 180, "longitude")
            ?? FieldRules.RadiusKm(request.RadiusKm, "radius_km")
            ?? FieldRules.NearbyResults(request.MaxResults, "max_results");
    }

    /// <summary>The page size to serve for a valid request's page_size (0 means the default; capped at the maximum).</summary>
    public int EffectivePageSize(int requested) =>
        FieldRules.EffectivePageSize(requested, _options.DefaultPageSize, _options.MaxPageSize);

    /// <summary>The coalescing interval to use for a valid WatchFleetRequest.</summary>
    public TimeSpan EffectiveWatchInterval(WatchFleetRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.MinInterval is null ? _options.DefaultWatchInterval : request.MinInterval.ToTimeSpan();
    }

    /// <summary>The time to live to apply to a valid SendCommandRequest: its own, or the command's default.</summary>
    public TimeSpan EffectiveTtl(SendCommandRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Ttl is not null)
        {
            return request.Ttl.ToTimeSpan();
        }

        return _catalogue.TryGet(request.Name, out var definition)
            ? definition.DefaultTtl
            : throw new ArgumentException($"Command '{request.Name}' is not in the catalogue; validate the request first.", nameof(request));
    }

    private ValidationError? Vin(string vin) => FieldRules.Vin(vin, "vin", _options.VerifyVinCheckDigit);
}
