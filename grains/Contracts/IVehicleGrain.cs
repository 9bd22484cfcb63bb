using Google.Protobuf.WellKnownTypes;
using Vehicles.Actors;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// One vehicle, keyed by VIN: its live state, presence, status report sequencing and command queue.
/// The vehicle side is called by the Connect and Report handlers; the operator side by the FleetOperator service.
/// Expected outcomes (duplicates, conflicts, full queues, final commands) are result values, never exceptions.
/// Returned protobuf messages are copies the caller may keep; arguments must not be changed after the call.
/// </summary>
public interface IVehicleGrain : IGrainWithStringKey
{
    /// <summary>
    /// Opens a session from a Hello, replacing any earlier one: the vehicle becomes online and the grant carries the
    /// durable sequence for the Welcome and every command to (re)deliver, oldest first. The caller registers the
    /// session with <see cref="IVehicleSessionDirectory"/> <em>before</em> this call, writes Welcome, then the grant's
    /// commands, then whatever the directory queued for the session meanwhile.
    /// </summary>
    Task<SessionGrant> OpenSessionAsync(SessionRequest session);

    /// <summary>Closes the session if it is still the current one (a replaced session's close is ignored); the vehicle becomes offline.</summary>
    Task CloseSessionAsync(string sessionId);

    /// <summary>Records that the vehicle was heard from on the session. Returns <see langword="false"/> when the session is no longer current (replaced or timed out): the caller should end the stream.</summary>
    Task<bool> HeartbeatAsync(string sessionId);

    /// <summary>
    /// Applies a status report and acknowledges it. A sequence already applied is acked and not applied again. Within
    /// <see cref="VehicleGrainOptions.ReorderWindow"/> a report may arrive out of order: it is applied once, and a report
    /// captured before the newest applied one only fills signals the vehicle never reported, so an older value never
    /// overwrites a newer one. A report more than the window behind the newest is acked and dropped.
    /// <see cref="Ack.DurableSequence"/> may lag <see cref="Ack.Sequence"/> until the next checkpoint.
    /// </summary>
    /// <param name="report">The validated report.</param>
    /// <param name="fleetId">The fleet named in the vehicle's token; <see langword="null"/> to keep the current one.</param>
    Task<Ack> ReportAsync(StatusReport report, string? fleetId);

    /// <summary>Applies a command result from the vehicle. A result for an unknown or already final command changes nothing and says so.</summary>
    Task<CompleteCommandResult> CompleteCommandAsync(CommandResult result);

    /// <summary>The vehicle's last known state, or <see langword="null"/> when it never connected nor reported.</summary>
    [ReadOnly]
    Task<Vehicle?> GetAsync();

    /// <summary>
    /// Creates a command, durable before this returns, and delivers it at once when the vehicle is online and
    /// <see cref="CommandRequest.NotBefore"/> has passed; otherwise it stays PENDING until the vehicle connects, a
    /// durable reminder fires at not_before, or it expires.
    /// </summary>
    Task<SendCommandResult> SendCommandAsync(CommandRequest commandRequest);

    /// <summary>One command, or <see langword="null"/> when unknown (or dropped from the bounded history).</summary>
    [ReadOnly]
    Task<Command?> GetCommandAsync(string commandId);

    /// <summary>Cancels a live command (the vehicle is told when it was delivered); a final command is returned unchanged with <see cref="CancelCommandStatus.AlreadyFinal"/>.</summary>
    Task<CancelCommandResult> CancelCommandAsync(string commandId);

    /// <summary>Retained commands, newest first, paged.</summary>
    /// <param name="pageSize">1..1000; 0 or less means 100, more than 1000 means 1000.</param>
    /// <param name="pageToken"><see cref="CommandPage.NextPageToken"/> of the previous page; empty or <see langword="null"/> for the first.</param>
    [ReadOnly]
    Task<CommandPage> ListCommandsAsync(int pageSize, string? pageToken);
}

/// <summary>What the Connect handler knows when a Hello arrives.</summary>
/// <param name="SessionId">The new session's id (also sent in Welcome).</param>
/// <param name="FleetId">The fleet named in the vehicle's token.</param>
/// <param name="FirmwareVersion">From Hello.</param>
/// <param name="SoftwareVersion">From Hello.</param>
/// <param name="Resume">From Hello; <see langword="null"/> on a cold start. Informational: the grant re-sends every DELIVERED command without a result whatever the vehicle last received, and Welcome.durable_sequence tells it which reports to resend.</param>
/// <param name="SessionAddress">Where the session's stream lives (<see cref="IVehicleSessionDirectory.LocalAddress"/> of the silo holding it): a grain on another silo pushes commands there.</param>
/// <param name="Reattach">
/// The stream is already open and its silo re-announces it to the grain's new activation (the grain moved to another
/// silo). Refused (<see cref="SessionGrant.Accepted"/> false) when the vehicle opened another session meanwhile.
/// </param>
public sealed record SessionRequest(
    string SessionId,
    string FleetId,
    string FirmwareVersion,
    string SoftwareVersion,
    ResumeInfo? Resume,
    string SessionAddress,
    bool Reattach = false);

/// <summary>The answer to <see cref="IVehicleGrain.OpenSessionAsync"/>.</summary>
/// <param name="DurableSequence">The highest durable status report sequence (Welcome.durable_sequence).</param>
/// <param name="Commands">Commands to send after Welcome, oldest first: PENDING ones now due and DELIVERED ones without a result.</param>
/// <param name="ServerTime">The grain's clock when the session opened (Welcome.server_time).</param>
/// <param name="Accepted">False only for a <see cref="SessionRequest.Reattach"/> of a session that is no longer current.</param>
public sealed record SessionGrant(ulong DurableSequence, IReadOnlyList<CommandDelivery> Commands, Timestamp ServerTime, bool Accepted = true);

/// <summary>A command to create, as validated by the api.</summary>
/// <param name="Name">Catalogue name.</param>
/// <param name="Parameters">Typed parameters; <see langword="null"/> when none.</param>
/// <param name="Ttl">Time to live (the catalogue default when the request left it unset); <see langword="null"/> for <see cref="VehicleGrainOptions.DefaultCommandTtl"/>.</param>
/// <param name="NotBefore">Do not deliver before this time; <see langword="null"/> to deliver at once.</param>
/// <param name="IdempotencyKey">Retries with the same key return the first command; empty or <see langword="null"/> for none.</param>
/// <param name="RequestedBy">Subject of the operator token.</param>
public sealed record CommandRequest(
    string Name,
    CommandParameters? Parameters,
    TimeSpan? Ttl,
    DateTimeOffset? NotBefore,
    string? IdempotencyKey,
    string RequestedBy);

/// <summary>How <see cref="IVehicleGrain.SendCommandAsync"/> went; the api maps each to a gRPC status.</summary>
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
public sealed record SendCommandResult(SendCommandStatus Status, Command? Command, string Message = "");

/// <summary>How <see cref="IVehicleGrain.CancelCommandAsync"/> went.</summary>
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
public sealed record CancelCommandResult(CancelCommandStatus Status, Command? Command);

/// <summary>How <see cref="IVehicleGrain.CompleteCommandAsync"/> went.</summary>
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
public sealed record CompleteCommandResult(CompleteCommandStatus Status, Command? Command);

/// <summary>A page of <see cref="IVehicleGrain.ListCommandsAsync"/>.</summary>
/// <param name="Commands">Newest first.</param>
/// <param name="NextPageToken">Token of the next page; empty on the last page.</param>
/// <param name="InvalidPageToken"><see langword="true"/> when the page token was not one this grain issued (INVALID_ARGUMENT); the page is then empty.</param>
public sealed record CommandPage(IReadOnlyList<Command> Commands, string NextPageToken, bool InvalidPageToken = false);
