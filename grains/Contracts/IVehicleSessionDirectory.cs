using System.Threading.Channels;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// The open vehicle streams of this silo, by VIN: the Connect handler registers its stream and drains the session's
/// outbound queue; vehicle grains push command deliveries and cancellations into it. One session per VIN: a newer one
/// replaces (and ends) the older. Kept behind an interface because in a cluster the grain may live on another silo.
/// </summary>
public interface IVehicleSessionDirectory
{
    /// <summary>Registers an open stream as the VIN's current session, ending the previous one with <see cref="SessionEndReason.Replaced"/>.</summary>
    VehicleSession Register(string vin, string sessionId);

    /// <summary>
    /// Queues a message on the VIN's session if <paramref name="sessionId"/> is still current. Never blocks. Returns
    /// <see langword="false"/> when the session is gone or its outbound queue is full; a full queue also ends the session
    /// (<see cref="SessionEndReason.OutboundQueueFull"/>), since a vehicle that far behind gets everything again on reconnect.
    /// </summary>
    bool TryPush(string vin, string sessionId, ServerMessage message);

    /// <summary>Ends the session if it is still the VIN's current one. Returns whether it was.</summary>
    bool EndSession(string vin, string sessionId, SessionEndReason reason);

    /// <summary>Whether <paramref name="sessionId"/> is the VIN's current session.</summary>
    bool IsCurrent(string vin, string sessionId);

    /// <summary>The address sessions registered here carry in <see cref="SessionRequest.SessionAddress"/>.</summary>
    string LocalAddress => "local";

    /// <summary>
    /// Tells the directory of the grain's silo where a session lives, so that pushes reach it when the stream is held by
    /// another silo. The grain calls it when a session opens; a single-silo directory needs nothing.
    /// </summary>
    void Attach(string vin, string sessionId, string sessionAddress)
    {
    }

    /// <summary>
    /// Asks the session's stream handler to announce the session again (<see cref="SessionRequest.Reattach"/>): the grain
    /// activation that knew it is going away while the stream stays (hand-over to another silo, a fenced write).
    /// </summary>
    void RequestReattach(string vin, string sessionId)
    {
    }
}

/// <summary>Why a <see cref="VehicleSession"/> ended.</summary>
public enum SessionEndReason
{
    /// <summary>Still open.</summary>
    None,

    /// <summary>The stream's owner disposed it (the stream ended).</summary>
    Closed,

    /// <summary>A newer session of the same VIN replaced it (the stream should end with ABORTED).</summary>
    Replaced,

    /// <summary>Its outbound queue overflowed.</summary>
    OutboundQueueFull,

    /// <summary>The vehicle grain saw no message within the heartbeat timeout.</summary>
    HeartbeatTimeout,

    /// <summary>The silo holding the stream is leaving the cluster; the vehicle reconnects to another.</summary>
    SiloShuttingDown,
}

/// <summary>
/// A registered stream: the Connect handler reads <see cref="Outbound"/> and stops when <see cref="Ended"/> fires.
/// Disposing it unregisters the session (if still current).
/// </summary>
public sealed class VehicleSession : IDisposable
{
    private readonly Channel<ServerMessage> _outbound;
    private readonly Channel<bool> _reattach = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _ended = new();
    private readonly Action<VehicleSession> _onDispose;
    private int _endReason;

    internal VehicleSession(string vin, string sessionId, int capacity, Action<VehicleSession> onDispose)
    {
        Vin = vin;
        SessionId = sessionId;
        _onDispose = onDispose;
        _outbound = Channel.CreateBounded<ServerMessage>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The vehicle.</summary>
    public string Vin { get; }

    /// <summary>The session id.</summary>
    public string SessionId { get; }

    /// <summary>Messages to write to the stream, in order. Completed when the session ends.</summary>
    public ChannelReader<ServerMessage> Outbound => _outbound.Reader;

    /// <summary>Fires when the session ends for any reason.</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>Why the session ended; <see cref="SessionEndReason.None"/> while open.</summary>
    public SessionEndReason EndReason => (SessionEndReason)Volatile.Read(ref _endReason);

    /// <summary>Unregisters the session (if still current) and ends it with <see cref="SessionEndReason.Closed"/>.</summary>
    public void Dispose()
    {
        _onDispose(this);
        End(SessionEndReason.Closed);
    }

    /// <summary>
    /// Signals that another silo may own the vehicle's grain now: the stream's handler re-announces the session to it
    /// (<see cref="SessionRequest.Reattach"/>). Signals coalesce while one is pending.
    /// </summary>
    public ChannelReader<bool> ReattachRequests => _reattach.Reader;

    /// <summary>Asks the stream's handler to re-announce the session (the grain's owner changed).</summary>
    public void RequestReattach() => _reattach.Writer.TryWrite(true);

    internal bool TryWrite(ServerMessage message) => EndReason == SessionEndReason.None && _outbound.Writer.TryWrite(message);

    internal bool End(SessionEndReason reason)
    {
        if (Interlocked.CompareExchange(ref _endReason, (int)reason, (int)SessionEndReason.None) != (int)SessionEndReason.None)
        {
            return false;
        }

        _outbound.Writer.TryComplete();
        _ended.Cancel();
        return true;
    }
}
