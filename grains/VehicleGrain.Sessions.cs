using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>Sessions and presence: a vehicle is online while it holds the current session and keeps being heard from.</summary>
public sealed partial class VehicleGrain
{
    /// <inheritdoc />
    public async Task<SessionGrant> OpenSessionAsync(SessionRequest session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var now = _time.GetUtcNow();
        if (session.Reattach && _sessionId is { } current && !string.Equals(current, session.SessionId, StringComparison.Ordinal))
        {
            // The vehicle connected again (elsewhere) while its old stream's silo was re-announcing the old session.
            return new SessionGrant(_durableSequence, [], Timestamp.FromDateTimeOffset(now), Accepted: false);
        }

        var vehicle = EnsureVehicle();
        var previousFleet = vehicle.FleetId;
        var wasOnline = _sessionId is not null;
        if (_sessionId is { } previous && !string.Equals(previous, session.SessionId, StringComparison.Ordinal))
        {
            _sessions.EndSession(Vin, previous, SessionEndReason.Replaced);
        }

        _sessionId = session.SessionId;
        _sessions.Attach(Vin, session.SessionId, session.SessionAddress);
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
        ExpireDue(now);
        var deliveries = TakeDeliveries(now);
        ArmExpiryTimer(now);
        if (!wasOnline || !string.Equals(previousFleet, vehicle.FleetId, StringComparison.Ordinal))
        {
            await UpdateFleetAsync(previousFleet);
        }

        Log.SessionOpened(_logger, _vin, session.SessionId);
        return new SessionGrant(_durableSequence, deliveries, Timestamp.FromDateTimeOffset(now));
    }

    /// <inheritdoc />
    public async Task CloseSessionAsync(string sessionId)
    {
        if (_sessionId is null || !string.Equals(_sessionId, sessionId, StringComparison.Ordinal) || CurrentVehicle is not { } vehicle)
        {
            return;
        }

        _sessions.EndSession(Vin, sessionId, SessionEndReason.Closed);
        await GoOfflineAsync(vehicle);
        Log.SessionClosed(_logger, _vin, sessionId);
    }

    /// <inheritdoc />
    public Task<bool> HeartbeatAsync(string sessionId)
    {
        if (_sessionId is null || !string.Equals(_sessionId, sessionId, StringComparison.Ordinal))
        {
            return Task.FromResult(false);
        }

        // last_seen alone is refreshed quietly: no state_version bump, event or write for a keep-alive.
        Touch(_time.GetUtcNow());
        return Task.FromResult(true);
    }

    private async Task GoOfflineAsync(Vehicle vehicle)
    {
        _sessionId = null;
        _presenceTimer?.Dispose();
        _presenceTimer = null;
        vehicle.ConnectionState = ConnectionState.Offline;
        Changed();
        await UpdateFleetAsync(vehicle.FleetId);
    }

    private void ArmPresenceTimer(TimeSpan due)
    {
        if (_presenceTimer is null)
        {
            _presenceTimer = RegisterGrainTimer(CheckPresenceAsync, due, Timeout.InfiniteTimeSpan);
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
        _sessions.EndSession(Vin, sessionId, SessionEndReason.HeartbeatTimeout);
        await GoOfflineAsync(vehicle);
    }

    private async Task UpdateFleetAsync(string previousFleet)
    {
        if (CurrentVehicle is not { } vehicle)
        {
            return;
        }

        try
        {
            if (!string.IsNullOrEmpty(previousFleet) && !string.Equals(previousFleet, vehicle.FleetId, StringComparison.Ordinal))
            {
                await GrainFactory.GetGrain<IFleetGrain>(previousFleet).RemoveMemberAsync(Vin);
            }

            if (!string.IsNullOrEmpty(vehicle.FleetId))
            {
                await GrainFactory.GetGrain<IFleetGrain>(vehicle.FleetId).UpdateMemberAsync(
                    new FleetMemberUpdate(Vin, vehicle.ConnectionState == ConnectionState.Online, _lastSeen));
            }
        }
        catch (Exception ex)
        {
            // Fleet presence is advisory (the vehicle grain is the authority); a failed update must not fail the vehicle.
            _logger.LogWarning(ex, "Could not update fleet {FleetId} about {Vin}", vehicle.FleetId, Vin);
        }
    }
}
