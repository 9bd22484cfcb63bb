using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Actors;
using Vehicles.Api.V1;
using Vehicles.Grains.State;

namespace Vehicles.Grains;

/// <summary>
/// A vehicle: live state and status report sequencing here; sessions and presence in VehicleGrain.Sessions.cs,
/// checkpoints in VehicleGrain.Checkpoint.cs, the operator command API in VehicleGrain.Commands.cs and its queue in
/// VehicleGrain.CommandQueue.cs.
/// Not reentrant: every change is one turn, so state rules need no locks. Reports change the state at once and
/// reach storage on the next checkpoint (a one-shot timer armed by the first change); commands are written before
/// the call returns.
/// </summary>
public sealed partial class VehicleGrain : Grain, IVehicleGrain, IRemindable
{
    private readonly IPersistentState<VehicleGrainState> _state;
    private readonly VehicleGrainOptions _options;
    private readonly IVehicleSessionDirectory _sessions;
    private readonly IVehicleEventBus _events;
    private readonly IVehicleGeoIndex _geo;
    private readonly TimeProvider _time;
    private readonly ILogger<VehicleGrain> _logger;
    private readonly string _vin;
    private string? _sessionId;
    private DateTimeOffset _lastSeen;
    private ulong _durableSequence;
    private readonly DeferredCheckpoint _checkpoint;
    private IGrainTimer? _presenceTimer;

    /// <summary>Creates the grain (the actor runtime does).</summary>
    public VehicleGrain(
        [PersistentState("vehicle")] IPersistentState<VehicleGrainState> state,
        IOptions<VehicleGrainOptions> options,
        IVehicleSessionDirectory sessions,
        IVehicleEventBus events,
        IVehicleGeoIndex geo,
        TimeProvider time,
        ILogger<VehicleGrain> logger)
    {
        _state = state;
        _options = options.Value;
        _sessions = sessions;
        _events = events;
        _geo = geo;
        _time = time;
        _logger = logger;
        _vin = GrainKey;
        _checkpoint = new DeferredCheckpoint(
            _options.CheckpointInterval,
            RegisterGrainTimer,
            WriteCheckpointAsync,
            ex => _logger.LogWarning(ex, "Checkpoint of {Vin} failed; retrying after the checkpoint interval", Vin));
    }

    private string Vin => _vin;

    private Vehicle? CurrentVehicle => _state.State.Vehicle;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _durableSequence = _state.State.AppliedSequence;
        var vehicle = CurrentVehicle;
        if (vehicle is not null)
        {
            vehicle.DurableSequence = _durableSequence;
        }

        _lastSeen = vehicle?.LastSeenTime?.ToDateTimeOffset() ?? default;
        if (vehicle is not null && vehicle.ConnectionState == ConnectionState.Online)
        {
            // No session outlives its activation (the silo stopped or crashed while the vehicle was connected).
            vehicle.ConnectionState = ConnectionState.Offline;
            Changed(publish: false);
            await UpdateFleetAsync(vehicle.FleetId);
        }

        var now = _time.GetUtcNow();
        ExpireDue(now);
        ArmExpiryTimer(now);
        await EnsureNotBeforeReminderAsync(now);
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_sessionId is { } keptSession && reason.ReasonCode is not (DeactivationReasonCode.ShuttingDown or DeactivationReasonCode.IdleTimeout))
        {
            // Handed over to the grain's new owner, or fenced by another activation: the stream stays open and its silo
            // announces the session to the next activation (SessionRequest.Reattach), so presence is left as it is.
            _sessions.RequestReattach(Vin, keptSession);
            _sessionId = null;
        }
        else if (_sessionId is { } sessionId && CurrentVehicle is { } vehicle)
        {
            // The stream cannot outlive the activation that owns its presence: end it so the vehicle reconnects.
            _sessions.EndSession(Vin, sessionId, SessionEndReason.Closed);
            _sessionId = null;
            vehicle.ConnectionState = ConnectionState.Offline;
            Changed();
            await UpdateFleetAsync(vehicle.FleetId);
        }

        if (_checkpoint.IsDirty)
        {
            await CheckpointAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<Ack> ReportAsync(StatusReport report, string? fleetId)
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
            await UpdateFleetAsync(previousFleet);
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

        return new Ack { Sequence = report.Sequence, DurableSequence = _durableSequence };
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
            _geo.UpdatePosition(vehicle.FleetId, Vin, signals.Latitude, signals.Longitude);
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
                await geo.RemoveAsync(fleetId, vin, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Removing {Vin} from the geo index of fleet {FleetId} failed; it may be listed there until it is removed again", vin, fleetId);
            }
        }
    }

    /// <inheritdoc />
    public Task<Vehicle?> GetAsync() => Task.FromResult(CurrentVehicle?.Clone());

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == NotBeforeReminder)
        {
            await OnNotBeforeReminderAsync();
        }
    }

    private Vehicle EnsureVehicle()
    {
        if (_state.State.Vehicle is { } vehicle)
        {
            return vehicle;
        }

        vehicle = new Vehicle { Vin = Vin, ConnectionState = ConnectionState.Offline, Signals = new Signals() };
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
        if (publish && _events.HasSubscribers(Vin, vehicle.FleetId))
        {
            _events.Publish(Vin, vehicle.FleetId, new VehicleEvent { Vehicle = vehicle.Clone() });
        }
    }
}
