using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>The in-process <see cref="IVehicleSessionDirectory"/>: one current session per VIN in a concurrent map.</summary>
public sealed class VehicleSessionDirectory(IOptions<VehicleGrainOptions> options, ILogger<VehicleSessionDirectory> logger) : IVehicleSessionDirectory
{
    private readonly ConcurrentDictionary<string, VehicleSession> _sessions = new(StringComparer.Ordinal);
    private readonly int _capacity = options.Value.SessionOutboundCapacity;

    /// <summary>How many sessions are registered.</summary>
    public int Count => _sessions.Count;

    /// <summary>The sessions open on this silo now.</summary>
    public IEnumerable<VehicleSession> Sessions => _sessions.Values;

    /// <inheritdoc />
    public VehicleSession Register(string vin, string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(vin);
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var session = new VehicleSession(vin, sessionId, _capacity, Unregister);
        VehicleSession? previous = null;
        _sessions.AddOrUpdate(vin, session, (_, old) =>
        {
            previous = old;
            return session;
        });
        previous?.End(SessionEndReason.Replaced);

        return session;
    }

    /// <inheritdoc />
    public bool TryPush(string vin, string sessionId, ServerMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_sessions.TryGetValue(vin, out var session) || !string.Equals(session.SessionId, sessionId, StringComparison.Ordinal))
        {
            return false;
        }

        if (session.TryWrite(message))
        {
            return true;
        }

        if (session.EndReason == SessionEndReason.None)
        {
            logger.LogWarning("Outbound queue of {Vin} session {SessionId} is full; ending the session", vin, session.SessionId);
            EndSession(vin, sessionId, SessionEndReason.OutboundQueueFull);
        }

        return false;
    }

    /// <inheritdoc />
    public bool EndSession(string vin, string sessionId, SessionEndReason reason)
    {
        if (!_sessions.TryGetValue(vin, out var session) || !string.Equals(session.SessionId, sessionId, StringComparison.Ordinal))
        {
            return false;
        }

        _sessions.TryRemove(new KeyValuePair<string, VehicleSession>(vin, session));
        return session.End(reason);
    }

    /// <inheritdoc />
    public void RequestReattach(string vin, string sessionId)
    {
        if (_sessions.TryGetValue(vin, out var session) && string.Equals(session.SessionId, sessionId, StringComparison.Ordinal))
        {
            session.RequestReattach();
        }
    }

    /// <inheritdoc />
    public bool IsCurrent(string vin, string sessionId)
        => _sessions.TryGetValue(vin, out var session) && string.Equals(session.SessionId, sessionId, StringComparison.Ordinal);

    // Removes only this exact session: a newer one registered since must stay.
    private void Unregister(VehicleSession session) => _sessions.TryRemove(new KeyValuePair<string, VehicleSession>(session.Vin, session));
}
