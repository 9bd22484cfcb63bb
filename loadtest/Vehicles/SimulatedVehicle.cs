using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// One simulated vehicle holding a VehicleLink.Connect stream, like the telematics unit of a real car: it says Hello,
/// streams status reports from a <see cref="RouteSimulator"/>, keeps the reports the server has not yet made durable
/// and resends them after a reconnect, and carries out the commands it receives after a configurable delay.
/// Reports and command results share the stream; writes are serialised, acks are matched by sequence number.
/// </summary>
public sealed partial class SimulatedVehicle : IAsyncDisposable
{
    private readonly Func<VehicleLink.VehicleLinkClient> _client;
    private readonly Metadata _headers;
    private readonly VehicleBehaviour _behaviour;
    private readonly TimeProvider _time;
    private readonly RouteSimulator _route;
    private readonly Random _random;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<Ack>> _pending = new();
    // Reports are sent in sequence order and become durable in that order: a queue keeps the ones to resend.
    private readonly Queue<StatusReport> _notDurable = new();
    private readonly ConcurrentDictionary<string, CommandRecord> _commands = new(StringComparer.Ordinal);
    private Session? _session;
    private ulong _lastSent;
    private long _highestDurable;
    private long _lastCapture;
    private long _lastAdvance;
    private long _sent;
    private long _acked;
    private long _failed;
    private long _throttled;
    private long _throttledUntil;
    private string _lastCommandId = "";

    /// <summary>Creates a vehicle; <see cref="ConnectAsync"/> opens its stream.</summary>
    /// <param name="vin">Its VIN.</param>
    /// <param name="seed">Seed of its route.</param>
    /// <param name="client">Gives the VehicleLink client of its connection (asked on every connect).</param>
    /// <param name="token">Its bearer token.</param>
    /// <param name="behaviour">How it carries out commands.</param>
    /// <param name="timeProvider">Its clock.</param>
    public SimulatedVehicle(
        string vin, int seed, Func<VehicleLink.VehicleLinkClient> client, string token, VehicleBehaviour behaviour, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(vin);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(behaviour);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Vin = vin;
        _client = client;
        _headers = ApiConnection.Bearer(token);
        _behaviour = behaviour;
        _time = timeProvider;
        _route = new RouteSimulator(seed);
        _random = new Random(seed);
        _lastAdvance = timeProvider.GetTimestamp();
    }

    /// <summary>The vehicle's VIN.</summary>
    public string Vin { get; }

    /// <summary>Whether its stream is open (Welcome received, not ended).</summary>
    public bool IsConnected => _session is { Ended: false };

    /// <summary>Highest sequence number sent so far.</summary>
    public ulong LastSentSequence => Volatile.Read(ref _lastSent);

    /// <summary>Highest durable sequence the server has told this vehicle (Welcome or Ack).</summary>
    public ulong HighestDurableSequence => (ulong)Interlocked.Read(ref _highestDurable);

    /// <summary>Reports sent (resends not counted).</summary>
    public long ReportsSent => Interlocked.Read(ref _sent);

    /// <summary>Reports whose ack arrived.</summary>
    public long ReportsAcked => Interlocked.Read(ref _acked);

    /// <summary>Reports that failed (error notice, stream lost before the ack, cancelled).</summary>
    public long ReportsFailed => Interlocked.Read(ref _failed);

    /// <summary>Throttle notices received.</summary>
    public long Throttled => Interlocked.Read(ref _throttled);

    /// <summary>The commands the vehicle received, by identifier: its own record, to compare with the server's.</summary>
    public IReadOnlyDictionary<string, CommandRecord> Commands => _commands;

    /// <summary>Called with the vehicle and the error (if any) when the stream ends without the vehicle closing it.</summary>
    public Action<SimulatedVehicle, Exception?>? Disconnected { get; set; }

    /// <summary>Opens the Connect stream, says Hello (with resume information after the first session), waits for
    /// Welcome and resends the reports the server has not made durable.</summary>
    /// <exception cref="RpcException">The server refused the stream.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await CloseSessionAsync();
        var session = new Session();
        session.Call = _client().Connect(new CallOptions(_headers, cancellationToken: session.Cancellation.Token));
        using var giveUp = cancellationToken.Register(static s => ((Session)s!).Cancel(), session);
        var hello = new Hello { Vin = Vin, FirmwareVersion = "fw-2026.11", SoftwareVersion = "loadtest-1.0" };
        if (LastSentSequence > 0 || !_lastCommandId.Equals("", StringComparison.Ordinal))
        {
            hello.Resume = new ResumeInfo { LastSentSequence = LastSentSequence, LastCommandId = _lastCommandId };
        }

        try
        {
            await session.Call.RequestStream.WriteAsync(new VehicleMessage { Hello = hello }, CancellationToken.None);
            if (!await session.Call.ResponseStream.MoveNext(CancellationToken.None))
            {
                throw new RpcException(session.Call.GetStatus());
            }

            var first = session.Call.ResponseStream.Current;
            if (first.KindCase != ServerMessage.KindOneofCase.Welcome)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"Expected Welcome, got {first.KindCase}."));
            }

            RaiseDurable(first.Welcome.DurableSequence);
            _session = session;
            session.Reader = Task.Run(() => ReadAsync(session), CancellationToken.None);
            await ResendAsync(session, first.Welcome.DurableSequence);
        }
        catch
        {
            session.Cancel();
            session.Call.Dispose();
            throw;
        }
    }

    /// <summary>Sends the next status report and waits for its ack.</summary>
    /// <exception cref="RpcException">The stream is not open or failed, or the server refused the report.</exception>
    public async Task<Ack> ReportAsync(CancellationToken cancellationToken)
    {
        var (ack, _) = await ReportWithCaptureAsync(cancellationToken);
        return ack;
    }

    /// <summary>Sends the next status report and returns its ack and capture time (Unix milliseconds).</summary>
    /// <exception cref="RpcException">The stream is not open or failed, or the server refused the report.</exception>
    public async Task<(Ack Ack, long CaptureMilliseconds)> ReportWithCaptureAsync(CancellationToken cancellationToken)
    {
        var session = _session;
        if (session is not { Ended: false })
        {
            Interlocked.Increment(ref _sent);
            Interlocked.Increment(ref _failed);
            throw new RpcException(new Status(StatusCode.Unavailable, $"{Vin} is not connected."));
        }

        if (_time.GetTimestamp() < Interlocked.Read(ref _throttledUntil))
        {
            // A well-behaved vehicle keeps quiet for the retry-after the server asked for; the report is not made.
            Interlocked.Increment(ref _failed);
            Interlocked.Increment(ref _sent);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "THROTTLED: waiting out the server's retry-after"));
        }

        TaskCompletionSource<Ack> waiter;
        long capture;
        ulong sequence;
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var now = _time.GetTimestamp();
            var signals = _route.Advance(_time.GetElapsedTime(_lastAdvance, now));
            _lastAdvance = now;
            // Capture times strictly increase by whole milliseconds, so a watcher can tell which report it sees.
            capture = Math.Max(_time.GetUtcNow().ToUnixTimeMilliseconds(), _lastCapture + 1);
            _lastCapture = capture;
            sequence = _lastSent + 1;
            var report = new StatusReport
            {
                Sequence = sequence,
                CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(capture)),
                Signals = signals,
            };
            waiter = new TaskCompletionSource<Ack>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[sequence] = waiter;
            lock (_notDurable)
            {
                _notDurable.Enqueue(report);
            }

            Volatile.Write(ref _lastSent, sequence);
            Interlocked.Increment(ref _sent);
            try
            {
                await session.Call!.RequestStream.WriteAsync(new VehicleMessage { Status = report }, CancellationToken.None);
            }
            catch (Exception e)
            {
                Fail(sequence, e);
            }
        }
        finally
        {
            _writeLock.Release();
        }

        try
        {
            return (await waiter.Task.WaitAsync(cancellationToken), capture);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The harness gave up waiting; the ack may still come, but this report counts as failed.
            if (_pending.TryRemove(KeyValuePair.Create(sequence, waiter)))
            {
                Interlocked.Increment(ref _failed);
            }

            throw;
        }
    }

    /// <summary>Ends the stream abruptly, as a lost network would; pending reports fail.</summary>
    public async Task DropAsync() => await CloseSessionAsync();

    /// <summary>Ends the stream cleanly: half-closes it and waits briefly for the server to finish.</summary>
    public async Task DisconnectAsync()
    {
        var session = _session;
        if (session is { Ended: false })
        {
            try
            {
                await _writeLock.WaitAsync();
                try
                {
                    await session.Call!.RequestStream.CompleteAsync();
                }
                finally
                {
                    _writeLock.Release();
                }

                await session.Reader!.WaitAsync(TimeSpan.FromSeconds(5), _time);
            }
            catch (Exception e) when (e is RpcException or TimeoutException or OperationCanceledException or InvalidOperationException)
            {
                // Closing anyway below.
            }
        }

        await CloseSessionAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await CloseSessionAsync();
        _writeLock.Dispose();
    }

    private async Task ResendAsync(Session session, ulong durable)
    {
        StatusReport[] resend;
        lock (_notDurable)
        {
            resend = [.. _notDurable.Where(r => r.Sequence > durable)];
        }

        if (resend.Length == 0)
        {
            return;
        }

        await _writeLock.WaitAsync();
        try
        {
            foreach (var report in resend)
            {
                await session.Call!.RequestStream.WriteAsync(new VehicleMessage { Status = report }, CancellationToken.None);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadAsync(Session session)
    {
        Exception? error = null;
        try
        {
            var responses = session.Call!.ResponseStream;
            while (await responses.MoveNext(CancellationToken.None))
            {
                var message = responses.Current;
                switch (message.KindCase)
                {
                    case ServerMessage.KindOneofCase.Ack:
                        OnAck(message.Ack);
                        break;
                    case ServerMessage.KindOneofCase.Command:
                        OnCommand(session, message.Command);
                        break;
                    case ServerMessage.KindOneofCase.CommandCancel:
                        if (_commands.TryGetValue(message.CommandCancel.CommandId, out var canceled))
                        {
                            lock (canceled)
                            {
                                canceled.Canceled = canceled.Outcome == CommandOutcome.Unspecified;
                            }
                        }

                        break;
                    case ServerMessage.KindOneofCase.Error when message.Error.Sequence > 0:
                        Fail(message.Error.Sequence, new RpcException(new Status(NoticeStatus(message.Error.Code), message.Error.Code + ": " + message.Error.Message)));
                        break;
                    case ServerMessage.KindOneofCase.Throttle:
                        OnThrottle(message.Throttle);
                        break;
                    default:
                        break;
                }
            }
        }
        catch (Exception e)
        {
            error = e;
        }

        session.Ended = true;
        var lost = new RpcException(new Status(StatusCode.Unavailable, $"{Vin}: stream ended before the ack ({error?.Message ?? "server closed it"})."));
        foreach (var sequence in _pending.Keys)
        {
            Fail(sequence, lost);
        }

        if (!session.Cancellation.IsCancellationRequested)
        {
            Disconnected?.Invoke(this, error);
        }
    }

    private void OnAck(Ack ack)
    {
        RaiseDurable(ack.DurableSequence);
        if (_pending.TryRemove(ack.Sequence, out var waiter))
        {
            Interlocked.Increment(ref _acked);
            waiter.TrySetResult(ack);
        }
    }

    private void OnThrottle(ThrottleNotice throttle)
    {
        Interlocked.Increment(ref _throttled);
        var retryAfter = throttle.RetryAfter?.ToTimeSpan() ?? TimeSpan.FromSeconds(1);
        Interlocked.Exchange(ref _throttledUntil, _time.GetTimestamp() + (long)(retryAfter.TotalSeconds * _time.TimestampFrequency));
        // The server answers in order, so the notice is about the oldest report still waiting; it was not applied and
        // stays in the resend buffer.
        var oldest = _pending.Keys.DefaultIfEmpty().Min();
        Fail(oldest, new RpcException(new Status(StatusCode.ResourceExhausted, "THROTTLED: " + throttle.Message)));
    }

    private void RaiseDurable(ulong durable)
    {
        var current = Interlocked.Read(ref _highestDurable);
        while ((long)durable > current)
        {
            var seen = Interlocked.CompareExchange(ref _highestDurable, (long)durable, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        lock (_notDurable)
        {
            while (_notDurable.TryPeek(out var oldest) && oldest.Sequence <= durable)
            {
                _notDurable.Dequeue();
            }
        }
    }

    /// <summary>
    /// The status an error notice names (<c>INVALID_ARGUMENT</c>, or <c>UNAVAILABLE</c> when the grain's silo could not be
    /// reached during a cluster change), so that the report counts each under its own name.
    /// </summary>
    internal static StatusCode NoticeStatus(string code) =>
        System.Enum.TryParse<StatusCode>(code.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out var status) && System.Enum.IsDefined(status)
            ? status
            : StatusCode.Unknown;

    private void Fail(ulong sequence, Exception error)
    {
        if (_pending.TryRemove(sequence, out var waiter))
        {
            Interlocked.Increment(ref _failed);
            waiter.TrySetException(error);
        }
    }

    private async Task CloseSessionAsync()
    {
        var session = Interlocked.Exchange(ref _session, null);
        if (session is null)
        {
            return;
        }

        session.Cancel();
        if (session.Reader is { } reader)
        {
            await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        session.Call?.Dispose();
        session.Cancellation.Dispose();
    }

    private sealed class Session
    {
        private volatile bool _ended;

        public CancellationTokenSource Cancellation { get; } = new();

        public AsyncDuplexStreamingCall<VehicleMessage, ServerMessage>? Call { get; set; }

        public Task? Reader { get; set; }

        public bool Ended
        {
            get => _ended;
            set => _ended = value;
        }

        public void Cancel()
        {
            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already closed.
            }
        }
    }
}
