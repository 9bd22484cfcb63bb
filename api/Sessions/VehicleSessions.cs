using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Grains;

namespace Vehicles.Api.Sessions;

/// <summary>
/// The vehicle streams open on this silo. Each is a grain observer (<see cref="VehicleSession"/>) made into a
/// reference with <see cref="IGrainFactory.CreateObjectReference{TGrainObserverInterface}(IGrainObserver)"/>; Orleans
/// holds observers weakly, so this registry is what keeps an open stream's observer alive. The silo ends every
/// session when it stops (<see cref="EndAll"/>) and asks every session to announce itself again after a membership
/// change (<see cref="ReattachAll"/>), so that the grains of a dead silo's vehicles learn their streams at once.
/// </summary>
public sealed class VehicleSessions(IGrainFactory grains, IOptions<VehicleGrainOptions> options, ILogger<VehicleSessions> logger)
{
    private readonly ConcurrentDictionary<VehicleSession, byte> _sessions = new();
    private readonly int _capacity = options.Value.SessionOutboundCapacity;
    private int _closing;

    /// <summary>How many sessions are open.</summary>
    public int Count => _sessions.Count;

    /// <summary>Opens a session and its observer reference. Dispose it when the stream ends.</summary>
    public VehicleSession Open(string vin, string sessionId)
    {
        var session = new VehicleSession(vin, sessionId, _capacity, logger, Close);
        session.Reference = grains.CreateObjectReference<IVehicleSessionObserver>(session);
        _sessions.TryAdd(session, 0);
        if (Volatile.Read(ref _closing) != 0)
        {
            session.End(SessionEndReason.SiloShuttingDown);
        }

        return session;
    }

    /// <summary>Ends every session for <paramref name="reason"/>; later ones end as they open.</summary>
    public void EndAll(SessionEndReason reason)
    {
        Volatile.Write(ref _closing, 1);
        foreach (var session in _sessions.Keys)
        {
            session.End(reason);
        }
    }

    /// <summary>
    /// Asks every open session to announce itself to its grain again, each at a random moment within
    /// <paramref name="spread"/>, so that thousands of streams do not all call at once.
    /// </summary>
    public void ReattachAll(TimeSpan spread, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        foreach (var session in _sessions.Keys)
        {
            var delay = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * spread.Ticks));
            if (delay <= TimeSpan.Zero)
            {
                session.RequestReattach();
                continue;
            }

            ITimer? timer = null;
            timer = time.CreateTimer(
                _ =>
                {
                    session.RequestReattach();
                    timer?.Dispose();
                },
                null,
                delay,
                Timeout.InfiniteTimeSpan);
        }
    }

    private void Close(VehicleSession session)
    {
        if (_sessions.TryRemove(session, out _) && session.Reference is { } reference)
        {
            grains.DeleteObjectReference<IVehicleSessionObserver>(reference);
        }
    }
}
