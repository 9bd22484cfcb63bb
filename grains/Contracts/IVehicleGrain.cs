using Google.Protobuf.WellKnownTypes;
using Orleans.Concurrency;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// One vehicle, keyed by VIN: its live state, presence, status report sequencing and command queue.
/// The vehicle side is called by the Connect and Report handlers; the operator side by the FleetOperator service.
/// Expected outcomes (duplicates, conflicts, full queues, final commands) are result values, never exceptions.
/// Returned protobuf messages are the caller's to keep; arguments must not be changed after the call.
/// </summary>
[Alias("vehicles.IVehicleGrain")]
public interface IVehicleGrain : IGrainWithStringKey
{
    /// <summary>
    /// Opens a session from a Hello, replacing any earlier one (whose observer is told <see cref="SessionEndReason.Replaced"/>):
    /// the vehicle becomes online and the grant carries the durable sequence for the Welcome and every command to
    /// (re)deliver, oldest first. Later commands and cancellations reach the stream through <paramref name="observer"/>.
    /// The caller writes Welcome, then the grant's commands, then whatever the observer queued meanwhile.
    /// </summary>
    /// <param name="session">What the stream knows.</param>
    /// <param name="observer">The stream's outbound queue, as a grain observer reference (it may live on another silo).</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    [Alias("OpenSession")]
    Task<SessionGrant> OpenSessionAsync(SessionRequest session, IVehicleSessionObserver observer, CancellationToken cancellationToken = default);

    /// <summary>Closes the session if it is still the current one (a replaced session's close is ignored); the vehicle becomes offline.</summary>
    [Alias("CloseSession")]
    Task CloseSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records that the vehicle was heard from on the session. <see cref="SessionStatus.Unknown"/>: this activation never
    /// heard of the session (the grain moved or its silo died) and the stream should announce it again
    /// (<see cref="SessionRequest.Reattach"/>); <see cref="SessionStatus.Replaced"/>: another session is current, end the stream.
    /// </summary>
    [Alias("Heartbeat")]
    Task<SessionStatus> HeartbeatAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies a status report and acknowledges it. A sequence already applied is acked and not applied again. Within
    /// <see cref="VehicleGrainOptions.ReorderWindow"/> a report may arrive out of order: it is applied once, and a report
    /// captured before the newest applied one only fills signals the vehicle never reported, so an older value never
    /// overwrites a newer one. A report more than the window behind the newest is acked and dropped.
    /// <see cref="Ack.DurableSequence"/> may lag <see cref="Ack.Sequence"/> until the next checkpoint.
    /// </summary>
    /// <param name="report">The validated report.</param>
    /// <param name="fleetId">The fleet named in the vehicle's token; <see langword="null"/> to keep the current one.</param>
    /// <param name="sessionId">The stream's session, so the receipt can say whether this activation knows it; <see langword="null"/> for the unary Report.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    [Alias("Report")]
    Task<ReportReceipt> ReportAsync(StatusReport report, string? fleetId, string? sessionId = null, CancellationToken cancellationToken = default);

    /// <summary>Applies a command result from the vehicle. A result for an unknown or already final command changes nothing and says so.</summary>
    [Alias("CompleteCommand")]
    Task<CompleteCommandResult> CompleteCommandAsync(CommandResult result, CancellationToken cancellationToken = default);

    /// <summary>The vehicle's last known state, or <see langword="null"/> when it never connected nor reported.</summary>
    [ReadOnly]
    [Alias("Get")]
    Task<Vehicle?> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates a command, durable before this returns, and delivers it at once when the vehicle is online and
    /// <see cref="CommandRequest.NotBefore"/> has passed; otherwise it stays PENDING until the vehicle connects,
    /// not_before comes (a grain timer while active, a durable reminder otherwise), or it expires.
    /// </summary>
    [Alias("SendCommand")]
    Task<SendCommandResult> SendCommandAsync(CommandRequest commandRequest, CancellationToken cancellationToken = default);

    /// <summary>One command, or <see langword="null"/> when unknown (or dropped from the bounded history).</summary>
    [ReadOnly]
    [Alias("GetCommand")]
    Task<Command?> GetCommandAsync(string commandId, CancellationToken cancellationToken = default);

    /// <summary>Cancels a live command (the vehicle is told when it was delivered); a final command is returned unchanged with <see cref="CancelCommandStatus.AlreadyFinal"/>.</summary>
    [Alias("CancelCommand")]
    Task<CancelCommandResult> CancelCommandAsync(string commandId, CancellationToken cancellationToken = default);

    /// <summary>Retained commands, newest first, paged.</summary>
    /// <param name="pageSize">1..1000; 0 or less means 100, more than 1000 means 1000.</param>
    /// <param name="pageToken"><see cref="CommandPage.NextPageToken"/> of the previous page; empty or <see langword="null"/> for the first.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    [ReadOnly]
    [Alias("ListCommands")]
    Task<CommandPage> ListCommandsAsync(int pageSize, string? pageToken, CancellationToken cancellationToken = default);
}

/// <summary>What the Connect handler knows when a Hello arrives.</summary>
/// <param name="SessionId">The new session's id (also sent in Welcome).</param>
/// <param name="FleetId">The fleet named in the vehicle's token.</param>
/// <param name="FirmwareVersion">From Hello.</param>
/// <param name="SoftwareVersion">From Hello.</param>
/// <param name="Resume">From Hello; <see langword="null"/> on a cold start. Informational: the grant re-sends every DELIVERED command without a result whatever the vehicle last received, and Welcome.durable_sequence tells it which reports to resend.</param>
/// <param name="Reattach">
/// The stream is already open and announces itself to an activation that does not know it (the grain moved, or the
/// silo that held it died). Refused (<see cref="SessionGrant.Accepted"/> false) when another session is current.
/// </param>
[GenerateSerializer]
[Alias("vehicles.SessionRequest")]
public sealed record SessionRequest(
    [property: Id(0)] string SessionId,
    [property: Id(1)] string FleetId,
    [property: Id(2)] string FirmwareVersion,
    [property: Id(3)] string SoftwareVersion,
    [property: Id(4)] ResumeInfo? Resume,
    [property: Id(5)] bool Reattach = false);

/// <summary>The answer to <see cref="IVehicleGrain.OpenSessionAsync"/>.</summary>
/// <param name="DurableSequence">The highest durable status report sequence (Welcome.durable_sequence).</param>
/// <param name="Commands">Commands to send after Welcome, oldest first: PENDING ones now due and DELIVERED ones without a result.</param>
/// <param name="ServerTime">The grain's clock when the session opened (Welcome.server_time).</param>
/// <param name="Accepted">False only for a <see cref="SessionRequest.Reattach"/> while another session is current.</param>
[GenerateSerializer]
[Alias("vehicles.SessionGrant")]
public sealed record SessionGrant(
    [property: Id(0)] ulong DurableSequence,
    [property: Id(1)] CommandDelivery[] Commands,
    [property: Id(2)] Timestamp ServerTime,
    [property: Id(3)] bool Accepted = true);

/// <summary>Whether a session is the one the vehicle's grain holds.</summary>
[GenerateSerializer]
[Alias("vehicles.SessionStatus")]
public enum SessionStatus
{
    /// <summary>It is the current session.</summary>
    Current,

    /// <summary>This activation holds no session (it moved or was re-activated after a crash): announce the stream again.</summary>
    Unknown,

    /// <summary>Another session is current: the stream should end.</summary>
    Replaced,
}

/// <summary>The answer to <see cref="IVehicleGrain.ReportAsync"/>.</summary>
/// <param name="Ack">The acknowledgement to send the vehicle.</param>
/// <param name="Session">Whether the activation knows the reporting session (<see cref="SessionStatus.Current"/> for a unary report).</param>
[GenerateSerializer]
[Alias("vehicles.ReportReceipt")]
public sealed record ReportReceipt(
    [property: Id(0)] Ack Ack,
    [property: Id(1)] SessionStatus Session);

/// <summary>A command to create, as validated by the api.</summary>
/// <param name="Name">Catalogue name.</param>
/// <param name="Parameters">Typed parameters; <see langword="null"/> when none.</param>
/// <param name="Ttl">Time to live (the catalogue default when the request left it unset); <see langword="null"/> for <see cref="VehicleGrainOptions.DefaultCommandTtl"/>.</param>
/// <param name="NotBefore">Do not deliver before this time; <see langword="null"/> to deliver at once.</param>
/// <param name="IdempotencyKey">Retries with the same key return the first command; empty or <see langword="null"/> for none.</param>
/// <param name="RequestedBy">Subject of the operator token.</param>
[GenerateSerializer]
[Alias("vehicles.CommandRequest")]
public sealed record CommandRequest(
    [property: Id(0)] string Name,
    [property: Id(1)] CommandParameters? Parameters,
    [property: Id(2)] TimeSpan? Ttl,
    [property: Id(3)] DateTimeOffset? NotBefore,
    [property: Id(4)] string? IdempotencyKey,
    [property: Id(5)] string RequestedBy);

/// <summary>How <see cref="IVehicleGrain.SendCommandAsync"/> went; the api maps each to a gRPC status.</summary>
[GenerateSerializer]
[Alias("vehicles.SendCommandStatus")]
public enum SendCommandStatus
{
    /// <summary>A new command was created (OK).</summary>
    Created,

    /// <summary>The idempotency key matched an earlier command with the same payload, which is returned (OK, deduplicated).</summary>
    Deduplicated,

    /// <summary>The idempotency key matched an earlier command with a different payload (ALREADY_EXISTS); that command is returned.</summary>
    IdempotencyKeyConflict,

    /// <summary>The vehicle already holds <see cref="VehicleGrainOptions.MaxQueuedCommands"/> live commands (RESOURCE_EXHAUSTED).</summary>
    QueueFull,

    /// <summary>The TTL is not positive or above <see cref="VehicleGrainOptions.MaxCommandTtl"/> (INVALID_ARGUMENT).</summary>
    InvalidTtl,
}

/// <summary>The outcome of <see cref="IVehicleGrain.SendCommandAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Command">The new or matching command; <see langword="null"/> for <see cref="SendCommandStatus.QueueFull"/> and <see cref="SendCommandStatus.InvalidTtl"/>.</param>
/// <param name="Message">A human-readable explanation for the non-OK statuses.</param>
[GenerateSerializer]
[Alias("vehicles.SendCommandResult")]
public sealed record SendCommandResult(
    [property: Id(0)] SendCommandStatus Status,
    [property: Id(1)] Command? Command,
    [property: Id(2)] string Message = "");

/// <summary>How <see cref="IVehicleGrain.CancelCommandAsync"/> went.</summary>
[GenerateSerializer]
[Alias("vehicles.CancelCommandStatus")]
public enum CancelCommandStatus
{
    /// <summary>The command was live and is now CANCELED (OK).</summary>
    Canceled,

    /// <summary>No such command (NOT_FOUND).</summary>
    NotFound,

    /// <summary>The command was already final; it is returned unchanged (FAILED_PRECONDITION).</summary>
    AlreadyFinal,
}

/// <summary>The outcome of <see cref="IVehicleGrain.CancelCommandAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Command">The command as it now is; <see langword="null"/> for <see cref="CancelCommandStatus.NotFound"/>.</param>
[GenerateSerializer]
[Alias("vehicles.CancelCommandResult")]
public sealed record CancelCommandResult(
    [property: Id(0)] CancelCommandStatus Status,
    [property: Id(1)] Command? Command);

/// <summary>How <see cref="IVehicleGrain.CompleteCommandAsync"/> went.</summary>
[GenerateSerializer]
[Alias("vehicles.CompleteCommandStatus")]
public enum CompleteCommandStatus
{
    /// <summary>The command is now final with the vehicle's outcome.</summary>
    Completed,

    /// <summary>No such command; nothing changed.</summary>
    UnknownCommand,

    /// <summary>The command was already final (expired, canceled or completed before); nothing changed.</summary>
    AlreadyFinal,
}

/// <summary>The outcome of <see cref="IVehicleGrain.CompleteCommandAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Command">The command as it now is; <see langword="null"/> for <see cref="CompleteCommandStatus.UnknownCommand"/>.</param>
[GenerateSerializer]
[Alias("vehicles.CompleteCommandResult")]
public sealed record CompleteCommandResult(
    [property: Id(0)] CompleteCommandStatus Status,
    [property: Id(1)] Command? Command);

/// <summary>A page of <see cref="IVehicleGrain.ListCommandsAsync"/>.</summary>
/// <param name="Commands">Newest first.</param>
/// <param name="NextPageToken">Token of the next page; empty on the last page.</param>
/// <param name="InvalidPageToken"><see langword="true"/> when the page token was not one this grain issued (INVALID_ARGUMENT); the page is then empty.</param>
[GenerateSerializer]
[Alias("vehicles.CommandPage")]
public sealed record CommandPage(
    [property: Id(0)] Command[] Commands,
    [property: Id(1)] string NextPageToken,
    [property: Id(2)] bool InvalidPageToken = false);
