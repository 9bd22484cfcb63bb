using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Orleans.Storage;
using Vehicles.Api.V1;
using Vehicles.Grains.State;

namespace Vehicles.Grains;

/// <summary>
/// A vehicle on Orleans: the I/O around its state. The rules live in plain classes tested without a silo
/// (<see cref="CommandQueue"/>, <see cref="ReportSequencer"/>, <see cref="SignalMerger"/>); this grain applies them,
/// writes the state (reports on the next checkpoint, commands before the call answers), pushes to the vehicle's
/// stream through its <see cref="IVehicleSessionObserver"/>, keeps presence, and arms timers and the not_before
/// reminder. Not reentrant: every change is one turn, so the rules need no locks. Change events go out after the
/// write that makes them durable, when the change has one.
/// </summary>
/// <remarks>
/// Immovable: a silo shutting down deactivates the grain (its state is written) and re-routes its queued calls; it does
/// not migrate it. A migration waits until the grain has activated on the target silo, and activation may call the
/// vehicle's fleet grain, which can be queued behind the same shutdown: the leaving silo then stalls until the system
/// response timeout and the calls fail. The grain carries nothing a migration could save over a storage read.
/// </remarks>
[Immovable]
public sealed class VehicleGrain : Grain, IVehicleGrain, IRemindable
{
    private const string NotBeforeReminder = "not-before";

    // Orleans' minimum reminder period. The reminder only wakes a deactivated grain: while active, a grain timer
    // delivers a scheduled command at its exact time.
    private static readonly TimeSpan _reminderPeriod = TimeSpan.FromMinutes(1);

    private readonly IPersistentState<VehicleGrainState> _state;
    private readonly VehicleGrainOptions _options;
    private readonly IVehicleEventBus _events;
    private readonly IVehicleGeoIndex _geo;
    private readonly TimeProvider _time;
    private readonly ILogger<VehicleGrain> _logger;
    private readonly string _vin;
    private CommandQueue _commands = null!;
    private readonly DeferredCheckpoint _checkpoint;
    private readonly List<VehicleEvent> _outbox = [];
    private string? _sessionId;
    private IVehicleSessionObserver? _observer;
    private DateTimeOffset _lastSeen;
    private ulong _durableSequence;
    private IGrainTimer? _presenceTimer;
    private IGrainTimer? _expiryTimer;
    private IGrainTimer? _notBeforeTimer;
    private bool _reminderRegistered;
    private bool _stale;

    /// <summary>Creates the grain (Orleans does).</summary>
    public VehicleGrain(
        [PersistentState("vehicle", GrainsServiceCollectionExtensions.StorageName)] IPersistentState<VehicleGrainState> state,
        IOptions<VehicleGrainOptions> options,
        IVehicleEventBus events,
        IVehicleGeoIndex geo,
        [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
        ILogger<VehicleGrain> logger)
    {
        _state = state;
        _options = options.Value;
        _events = events;
        _geo = geo;
        _time = time;
        _logger = logger;
        _vin = this.GetPrimaryKeyString();
        _checkpoint = new DeferredCheckpoint(
            _options.CheckpointInterval,
            (callback, due, period) => this.RegisterGrainTimer(callback, due, period),
            WriteCheckpointAsync,
            ex => _logger.LogWarning(ex, "Checkpoint of {Vin} failed; retrying after the checkpoint interval", _vin));
    }

    private Vehicle? CurrentVehicle => _state.State.Vehicle;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The state is read after construction: the queue works on the object read.
        _commands = new CommandQueue(_state.State, _options, _vin, OnCommandChanged);
        _durableSequence = _state.State.AppliedSequence;
        var vehicle = CurrentVehicle;
        if (vehicle is not null)
        {
            vehicle.DurableSequence = _durableSequence;
        }

        _lastSeen = vehicle?.LastSeenTime?.ToDateTimeOffset() ?? default;
        if (vehicle is not null && vehicle.ConnectionState == ConnectionState.Online)
        {
            // No session outlives its activation: the stream, if it is still open, announces itself again
            // (SessionRequest.Reattach) and the vehicle is online from then on.
            vehicle.ConnectionState = ConnectionState.Offline;
            Changed(publish: false);
            await UpdateFleetAsync(vehicle.FleetId, cancellationToken);
        }

        var now = _time.GetUtcNow();
        _commands.ExpireDue(now);
        await ScheduleAsync(now);
        FlushEvents();
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_observer is { } observer && CurrentVehicle is { } vehicle)
        {
            if (reason.ReasonCode == DeactivationReasonCode.ActivationIdle)
            {
                // Idle with a session means the stream went silent without closing: end it so the vehicle reconnects.
                _ = observer.EndAsync(SessionEndReason.Closed);
                _sessionId = null;
                _observer = null;
                vehicle.ConnectionState = ConnectionState.Offline;
                Changed();
                await UpdateFleetAsync(vehicle.FleetId, cancellationToken);
            }
            else
            {
                // The silo is leaving, the grain moves or its activation is fenced: the stream stays open and announces
                // its session to the next activation, so presence is left as it is.
                _ = observer.ReattachAsync();
                _sessionId = null;
                _observer = null;
            }
        }

        if (_checkpoint.IsDirty && !_stale)
        {
            await _checkpoint.WriteAsync(cancellationToken);
        }

        FlushEvents();
    }

    /// <inheritdoc />
    public async Task<SessionGrant> OpenSessionAsync(SessionRequest session, IVehicleSessionObserver observer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(observer);
        var now = _time.GetUtcNow();
        if (session.Reattach && _sessionId is { } current && !string.Equals(current, session.SessionId, StringComparison.Ordinal))
        {
            // The vehicle connected again (elsewhere) while its old stream was re-announcing the old session.
            return new SessionGrant(_durableSequence, [], Timestamp.FromDateTimeOffset(now), Accepted: false);
        }

        var vehicle = EnsureVehicle();
        var previousFleet = vehicle.FleetId;
        var wasOnline = vehicle.ConnectionState == ConnectionState.Online;
        if (_sessionId is { } previous && _observer is { } previousObserver && !string.Equals(previous, session.SessionId, StringComparison.Ordinal))
        {
            _ = previousObserver.EndAsync(SessionEndReason.Replaced);
        }

        _sessionId = session.SessionId;
        _observer = observer;
        vehicle.ConnectionState = ConnectionState.Online;
        vehicle.FirmwareVersion = session.FirmwareVersion;
        vehicle.SoftwareVersion = session.SoftwareVersion;
        if (!string.IsNullOrEmpty(session.FleetId))
        {
            vehicle.FleetId = session.FleetId;
        }

        Touch(now);
        Changed();
        ArmPresenceTimer(_options.HeartbeatTimeout);
        _commands.ExpireDue(now);
        var deliveries = _commands.TakeDeliveries(now);
        await ScheduleAsync(now);
        if (!wasOnline || !string.Equals(previousFleet, vehicle.FleetId, StringComparison.Ordinal))
        {
            await UpdateFleetAsync(previousFleet, cancellationToken);
        }

        FlushEvents();
        Log.SessionOpened(_logger, _vin, session.SessionId);
        return new SessionGrant(_durableSequence, deliveries, Timestamp.FromDateTimeOffset(now));
    }

    /// <inheritdoc />
    public async Task CloseSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (_sessionId is null || !string.Equals(_sessionId, sessionId, StringComparison.Ordinal) || CurrentVehicle is not { } vehicle)
        {
            return;
        }

        await GoOfflineAsync(vehicle, cancellationToken);
        FlushEvents();
        Log.SessionClosed(_logger, _vin, sessionId);
    }

    /// <inheritdoc />
    public Task<SessionStatus> HeartbeatAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var status = StatusOf(sessionId);
        if (status == SessionStatus.Current)
        {
            // last_seen alone is refreshed quietly: no state_version bump, event or write for a keep-alive.
            Touch(_time.GetUtcNow());
        }

        return Task.FromResult(status);
    }

    /// <inheritdoc />
    public async Task<ReportReceipt> ReportAsync(StatusReport report, string? fleetId, string? sessionId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        var vehicle = EnsureVehicle();
        Touch(_time.GetUtcNow());
        var reindex = false;
        if (!string.IsNullOrEmpty(fleetId) && !string.Equals(fleetId, vehicle.FleetId, StringComparison.Ordinal))
        {
            var previousFleet = vehicle.FleetId;
            vehicle.FleetId = fleetId;
            Changed();
            await UpdateFleetAsync(previousFleet, cancellationToken);
            RemoveFromGeoIndex(previousFleet);
            reindex = true;
        }

        if (ReportSequencer.TryApply(_state.State, report.Sequence, _options.ReorderWindow))
        {
            SignalMerger.Merge(vehicle, report);
            Changed();
            reindex = true;
        }

        if (reindex)
        {
            UpdateGeoIndex(vehicle);
        }

        FlushEvents();
        var session = sessionId is null ? SessionStatus.Current : StatusOf(sessionId);
        return new ReportReceipt(new Ack { Sequence = report.Sequence, DurableSequence = _durableSequence }, session);
    }

    /// <inheritdoc />
    public Task<Vehicle?> GetAsync(CancellationToken cancellationToken = default) => Task.FromResult(CurrentVehicle?.Clone());

    /// <inheritdoc />
    public async Task<SendCommandResult> SendCommandAsync(CommandRequest commandRequest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commandRequest);
        var now = _time.GetUtcNow();
        var result = _commands.Admit(commandRequest, now);
        if (result is not { Status: SendCommandStatus.Created, Command: { } command })
        {
            FlushEvents();
            return result;
        }

        try
        {
            await _checkpoint.WriteAsync(cancellationToken);
        }
        catch
        {
            // Not durable, so it never existed: the caller gets the error and may retry with the same key.
            _commands.Withdraw(command);
            _checkpoint.MarkDirty();
            throw;
        }

        Publish(new VehicleEvent { Command = command.Clone() });
        if (CommandQueue.IsDue(command, now))
        {
            TryDeliver(command, now);
        }

        _commands.TrimHistory();
        await ScheduleAsync(now);
        FlushEvents();
        return result with { Command = command.Clone() };
    }

    /// <inheritdoc />
    public Task<Command?> GetCommandAsync(string commandId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_commands.Find(commandId)?.Clone());

    /// <inheritdoc />
    public async Task<CancelCommandResult> CancelCommandAsync(string commandId, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var result = _commands.Cancel(commandId, now, out var wasDelivered);
        if (result.Status == CancelCommandStatus.Canceled)
        {
            await _checkpoint.WriteAsync(cancellationToken);
            if (wasDelivered)
            {
                Push(new ServerMessage { CommandCancel = new CommandCancel { CommandId = commandId } });
            }

            await ScheduleAsync(now);
        }

        FlushEvents();
        return result;
    }

    /// <inheritdoc />
    public async Task<CompleteCommandResult> CompleteCommandAsync(CommandResult result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        var now = _time.GetUtcNow();
        Touch(now);
        var outcome = _commands.Complete(result, now);
        if (outcome.Status == CompleteCommandStatus.Completed)
        {
            // Written before the answer: a result lost in a crash would get the command delivered, and carried out, again.
            await _checkpoint.WriteAsync(cancellationToken);
            await ScheduleAsync(now);
        }

        FlushEvents();
        return outcome;
    }

    /// <inheritdoc />
    public Task<CommandPage> ListCommandsAsync(int pageSize, string? pageToken, CancellationToken cancellationToken = default) =>
        Task.FromResult(_commands.List(pageSize, pageToken));

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == NotBeforeReminder)
        {
            _reminderRegistered = true;
            await DeliverScheduledAsync(CancellationToken.None);
        }
    }

    private SessionStatus StatusOf(string sessionId) =>
        _sessionId is null ? SessionStatus.Unknown
        : string.Equals(_sessionId, sessionId, StringComparison.Ordinal) ? SessionStatus.Current
        : SessionStatus.Replaced;

    private async Task DeliverScheduledAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        _commands.ExpireDue(now);
        foreach (var command in _commands.DueScheduled(now))
        {
            TryDeliver(command, now);
        }

        await ScheduleAsync(now);
        FlushEvents();
    }

    private void TryDeliver(Command command, DateTimeOffset now)
    {
        if (Push(new ServerMessage { Command = CommandQueue.ToDelivery(command) }))
        {
            _commands.MarkDelivered(command, now);
        }
    }

    // One-way: the grain never waits on a vehicle's connection. A push lost with its silo leaves the command
    // DELIVERED, and it goes out again when the stream re-announces itself or the vehicle reconnects.
    private bool Push(ServerMessage message)
    {
        if (_observer is not { } observer)
        {
            return false;
        }

        try
        {
            _ = observer.PushAsync(message);
            return true;
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Push to the stream of {Vin} failed", _vin);
            return false;
        }
    }

    /// <summary>Arms the expiry and not_before timers and keeps the not_before reminder only while a command is scheduled.</summary>
    private async Task ScheduleAsync(DateTimeOffset now)
    {
        _expiryTimer = Arm(_expiryTimer, _commands.NextExpiry(), now, OnExpiryTimerAsync);
        var notBefore = _commands.NextNotBefore(now);
        _notBeforeTimer = Arm(_notBeforeTimer, notBefore, now, DeliverScheduledAsync);
        if (notBefore is { } at)
        {
            if (!_reminderRegistered)
            {
                // The first tick at the not_before time, then every minute while something is scheduled: a grain that
                // was deactivated, moved or lost with its silo is woken to deliver. Orleans skips ticks missed while the
                // silo was down; the overdue command then goes out in the grant of the vehicle's next session, or on
                // the next tick, at most a period after the restart.
                await this.RegisterOrUpdateReminder(NotBeforeReminder, Max(at - now, TimeSpan.Zero), _reminderPeriod);
                _reminderRegistered = true;
            }
        }
        else if (_reminderRegistered)
        {
            // Nothing scheduled any more. A reminder this activation does not know of (left by an earlier one) is
            // removed here on its next tick, which sets the flag: activation never pays a reminder-table read.
            if (await this.GetReminder(NotBeforeReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            _reminderRegistered = false;
        }
    }

    private IGrainTimer? Arm(IGrainTimer? timer, DateTimeOffset? at, DateTimeOffset now, Func<CancellationToken, Task> callback)
    {
        if (at is not { } when)
        {
            timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return timer;
        }

        var due = Max(when - now, TimeSpan.Zero);
        if (timer is null)
        {
            return this.RegisterGrainTimer(callback, due, Timeout.InfiniteTimeSpan);
        }

        timer.Change(due, Timeout.InfiniteTimeSpan);
        return timer;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private async Task OnExpiryTimerAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        _commands.ExpireDue(now);
        await ScheduleAsync(now);
        FlushEvents();
    }

    private void ArmPresenceTimer(TimeSpan due)
    {
        if (_presenceTimer is null)
        {
            _presenceTimer = this.RegisterGrainTimer(CheckPresenceAsync, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _presenceTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    // Heartbeats only move _lastSeen; the timer re-arms itself for the remainder, so a keep-alive costs no timer change.
    private async Task CheckPresenceAsync(CancellationToken cancellationToken)
    {
        if (_sessionId is not { } sessionId || CurrentVehicle is not { } vehicle)
        {
            return;
        }

        var silent = _time.GetUtcNow() - _lastSeen;
        if (silent < _options.HeartbeatTimeout)
        {
            _presenceTimer?.Change(_options.HeartbeatTimeout - silent, Timeout.InfiniteTimeSpan);
            return;
        }

        Log.SessionTimedOut(_logger, _vin, sessionId);
        _ = _observer?.EndAsync(SessionEndReason.HeartbeatTimeout);
        await GoOfflineAsync(vehicle, cancellationToken);
        FlushEvents();
    }

    private async Task GoOfflineAsync(Vehicle vehicle, CancellationToken cancellationToken)
    {
        _sessionId = null;
        _observer = null;
        _presenceTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        vehicle.ConnectionState = ConnectionState.Offline;
        Changed();
        await UpdateFleetAsync(vehicle.FleetId, cancellationToken);
    }

    private async Task UpdateFleetAsync(string previousFleet, CancellationToken cancellationToken)
    {
        if (CurrentVehicle is not { } vehicle)
        {
            return;
        }

        try
        {
            if (!string.IsNullOrEmpty(previousFleet) && !string.Equals(previousFleet, vehicle.FleetId, StringComparison.Ordinal))
            {
                await GrainFactory.GetGrain<IFleetGrain>(previousFleet).RemoveMemberAsync(_vin, cancellationToken);
            }

            if (!string.IsNullOrEmpty(vehicle.FleetId))
            {
                await GrainFactory.GetGrain<IFleetGrain>(vehicle.FleetId).UpdateMemberAsync(
                    new FleetMemberUpdate(_vin, vehicle.ConnectionState == ConnectionState.Online, _lastSeen), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Fleet presence is advisory (the vehicle grain is the authority); a failed update must not fail the vehicle.
            _logger.LogWarning(ex, "Could not update fleet {FleetId} about {Vin}", vehicle.FleetId, _vin);
        }
    }

    // The geo index is advisory: nothing it does may fail or hold up a report.
    private void UpdateGeoIndex(Vehicle vehicle)
    {
        if (vehicle.FleetId.Length == 0 || vehicle.Signals is not { HasLatitude: true, HasLongitude: true } signals)
        {
            return;
        }

        try
        {
            _geo.UpdatePosition(vehicle.FleetId, _vin, signals.Latitude, signals.Longitude);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            // A position the index cannot hold (Redis geo sets stop at ±85.05° latitude); the vehicle is simply not found.
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                _logger.LogDebug(ex, "Position of {Vin} not indexed", _vin);
            }
        }
    }

    private void RemoveFromGeoIndex(string previousFleet)
    {
        if (previousFleet.Length > 0)
        {
            // Not awaited: a slow or unreachable index must not hold the grain's turn.
            _ = RemoveAsync(_geo, previousFleet, _vin, _logger);
        }

        static async Task RemoveAsync(IVehicleGeoIndex geo, string fleetId, string vin, ILogger logger)
        {
            try
            {
                await geo.RemoveAsync(fleetId, vin, CancellationToken.None);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Removing {Vin} from the geo index of fleet {FleetId} failed; it may be listed there until it is removed again", vin, fleetId);
            }
        }
    }

    private Vehicle EnsureVehicle()
    {
        if (_state.State.Vehicle is { } vehicle)
        {
            return vehicle;
        }

        vehicle = new Vehicle { Vin = _vin, ConnectionState = ConnectionState.Offline, Signals = new Signals() };
        _state.State.Vehicle = vehicle;
        return vehicle;
    }

    private void Touch(DateTimeOffset now)
    {
        _lastSeen = now;
        if (CurrentVehicle is { } vehicle)
        {
            vehicle.LastSeenTime = Timestamp.FromDateTimeOffset(now);
        }
    }

    /// <summary>Records a change of the vehicle: a new state_version, a checkpoint to come, and (by default) an event.</summary>
    private void Changed(bool publish = true)
    {
        var vehicle = EnsureVehicle();
        vehicle.StateVersion++;
        _checkpoint.MarkDirty();
        if (publish && _events.HasSubscribers(_vin, vehicle.FleetId))
        {
            _outbox.Add(new VehicleEvent { Vehicle = vehicle.Clone() });
        }
    }

    private void OnCommandChanged(Command? command)
    {
        _checkpoint.MarkDirty();
        if (command is not null)
        {
            Publish(new VehicleEvent { Command = command.Clone() });
        }
    }

    private void Publish(VehicleEvent vehicleEvent)
    {
        if (_events.HasSubscribers(_vin, CurrentVehicle?.FleetId ?? string.Empty))
        {
            _outbox.Add(vehicleEvent);
        }
    }

    // Called at the end of every turn, after the turn's write when it has one, so that a watcher never sees a change
    // that a failed write then takes back.
    private void FlushEvents()
    {
        if (_outbox.Count == 0)
        {
            return;
        }

        var fleetId = CurrentVehicle?.FleetId ?? string.Empty;
        foreach (var vehicleEvent in _outbox)
        {
            _events.Publish(_vin, fleetId, vehicleEvent);
        }

        _outbox.Clear();
    }

    private async Task WriteCheckpointAsync(CancellationToken cancellationToken)
    {
        var applied = _state.State.AppliedSequence;
        try
        {
            await _state.WriteStateAsync(cancellationToken);
        }
        catch (InconsistentStateException)
        {
            // Another activation wrote the record since this one read it, so no write of this copy can succeed. Orleans
            // deactivates an activation when this exception escapes a call, but a timed checkpoint has no caller: leave
            // here too, and the next call activates from the stored record.
            _stale = true;
            DeactivateOnIdle();
            throw;
        }

        // Shown only once committed; the stored copy is derived from applied_sequence when the grain activates.
        _durableSequence = applied;
        if (_state.State.Vehicle is { } vehicle)
        {
            vehicle.DurableSequence = applied;
        }
    }
}
