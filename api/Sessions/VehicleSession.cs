using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Vehicles.Api.V1;
using Vehicles.Grains;

namespace Vehicles.Api.Sessions;

/// <summary>
/// The outbound side of one open vehicle stream on this silo, and the grain observer its vehicle grain pushes to
/// (wherever that grain lives). Pushes go into a bounded queue that the stream's writer drains; a vehicle that falls
/// so far behind that the queue overflows has its session ended (<see cref="SessionEndReason.OutboundQueueFull"/>),
/// and what it missed stays DELIVERED in the grain, so it goes out again when the vehicle reconnects.
/// </summary>
public sealed class VehicleSession : IVehicleSessionObserver, IDisposable
{
    private readonly Channel<ServerMessage> _outbound;
    private readonly Channel<bool> _reattach = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _ended = new();
    private readonly Action<VehicleSession> _onDispose;
    private readonly ILogger _logger;
    private int _endReason;

    internal VehicleSession(string vin, string sessionId, int capacity, ILogger logger, Action<VehicleSession> onDispose)
    {
        Vin = vin;
        SessionId = sessionId;
        _logger = logger;
        _onDispose = onDispose;
        _outbound = Channel.CreateBounded<ServerMessage>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The vehicle.</summary>
    public string Vin { get; }

    /// <summary>The session id sent in Welcome.</summary>
    public string SessionId { get; }

    /// <summary>The grain-observer reference the vehicle grain holds; set by the Connect handler.</summary>
    public IVehicleSessionObserver? Reference { get; internal set; }

    /// <summary>Messages for the stream, in push order.</summary>
    public ChannelReader<ServerMessage> Outbound => _outbound.Reader;

    /// <summary>Cancelled when the session ends for any reason.</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>Why it ended; <see cref="SessionEndReason.None"/> while open.</summary>
    public SessionEndReason EndReason => (SessionEndReason)Volatile.Read(ref _endReason);

    /// <summary>Signals that the session must be announced to the vehicle's grain again; several requests collapse into one.</summary>
    public ChannelReader<bool> ReattachRequests => _reattach.Reader;

    /// <inheritdoc />
    public Task PushAsync(ServerMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (EndReason == SessionEndReason.None && !_outbound.Writer.TryWrite(message) && End(SessionEndReason.OutboundQueueFull))
        {
            LogQueueFull(_logger, Vin, SessionId);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task EndAsync(SessionEndReason reason)
    {
        End(reason);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ReattachAsync()
    {
        RequestReattach();
        return Task.CompletedTask;
    }

    /// <summary>Asks the stream to announce itself to the vehicle's grain again.</summary>
    public void RequestReattach() => _reattach.Writer.TryWrite(true);

    /// <summary>Ends the session; <see langword="false"/> when it had already ended.</summary>
    public bool End(SessionEndReason reason)
    {
        if (Interlocked.CompareExchange(ref _endReason, (int)reason, (int)SessionEndReason.None) != (int)SessionEndReason.None)
        {
            return false;
        }

        _outbound.Writer.TryComplete();
        _ended.Cancel();
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        End(SessionEndReason.Closed);
        _onDispose(this);
        _ended.Dispose();
    }

    private static void LogQueueFull(ILogger logger, string vin, string sessionId) =>
        logger.LogWarning("Outbound queue of {Vin} session {SessionId} is full; ending the session", vin, sessionId);
}
