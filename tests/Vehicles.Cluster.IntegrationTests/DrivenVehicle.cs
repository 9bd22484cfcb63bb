using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Vehicles.Api.V1;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>How one Connect stream ended.</summary>
/// <param name="Silo">The silo the stream was on.</param>
/// <param name="SiloState">What the test had done to that silo when the stream ended (a leaving silo may end its streams).</param>
/// <param name="Status">The status the client saw.</param>
/// <param name="Detail">Its message.</param>
/// <param name="At">When, since the driver started.</param>
/// <param name="WhileStopping">Ended by the driver's own hang-up at the end of the load.</param>
public sealed record StreamEnd(string Silo, SiloState SiloState, StatusCode Status, string Detail, TimeSpan At, bool WhileStopping);

/// <summary>
/// A vehicle under load: one Connect stream at a time, a status report every interval with one report in flight (so a
/// stalled stream never builds a burst the rate limit would punish), results for the commands it receives, and a
/// reconnect to the next silo of the rotation when its stream ends, resuming with its last sent sequence.
/// Everything it sees is recorded for the assertions.
/// </summary>
public sealed class DrivenVehicle
{
    private static readonly TimeSpan _welcomeTimeout = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan _ackTimeout = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan _firstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan _maxBackoff = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly List<StreamEnd> _streamEnds = [];
    private readonly List<string> _problems = [];
    private readonly List<string> _durableRegressions = [];
    private readonly HashSet<string> _executedCommands = new(StringComparer.Ordinal);
    private string _lastCommandId = "";
    private long _duplicateDeliveries;
    private readonly string _token;
    private readonly long _started;
    private ulong _sequence;
    private ulong _highestAcked;
    private ulong _highestDurableAcked;
    private long _reportsAcked;
    private long _throttles;
    private long _reportsRefused;
    private long _commandsReceived;
    private int _connects;
    private string _silo = "";
    private long _mark = long.MaxValue;
    private long _firstAckAfterMark;
    private TaskCompletionSource<bool>? _pending;
    private ulong _pendingSequence;
    private long _pendingSentAt;

    internal DrivenVehicle(string vin, string token, long started)
    {
        Vin = vin;
        _token = token;
        _started = started;
    }

    /// <summary>Its VIN.</summary>
    public string Vin { get; }

    /// <summary>Endpoint of the silo its current (or last) stream is on.</summary>
    public string Silo
    {
        get
        {
            lock (_lock)
            {
                return _silo;
            }
        }
    }

    /// <summary>The highest durable_sequence any ack or Welcome told it.</summary>
    public ulong HighestDurableAcked
    {
        get
        {
            lock (_lock)
            {
                return _highestDurableAcked;
            }
        }
    }

    /// <summary>The highest report sequence acked.</summary>
    public ulong HighestAcked
    {
        get
        {
            lock (_lock)
            {
                return _highestAcked;
            }
        }
    }

    /// <summary>Reports acked so far.</summary>
    public long ReportsAcked => Interlocked.Read(ref _reportsAcked);

    /// <summary>Reports the server answered with an UNAVAILABLE notice (not applied; sent again).</summary>
    public long ReportsRefused => Interlocked.Read(ref _reportsRefused);

    /// <summary>Throttle notices received (none is expected at the pace it keeps).</summary>
    public long Throttles => Interlocked.Read(ref _throttles);

    /// <summary>Commands delivered to it.</summary>
    public long CommandsReceived => Interlocked.Read(ref _commandsReceived);

    /// <summary>Commands delivered again after the vehicle had carried them out (and answered) once.</summary>
    public long DuplicateDeliveries
    {
        get
        {
            lock (_lock)
            {
                return _duplicateDeliveries;
            }
        }
    }

    /// <summary>Streams that reached Welcome.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>Every stream end.</summary>
    public IReadOnlyList<StreamEnd> StreamEnds
    {
        get
        {
            lock (_lock)
            {
                return [.. _streamEnds];
            }
        }
    }

    /// <summary>Anything that went wrong short of a stream end: ack timeouts, error notices, a durable sequence going back.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_lock)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>Reconnects whose Welcome named a durable sequence below one acknowledged before: a lost durable report.</summary>
    public IReadOnlyList<string> DurableRegressions
    {
        get
        {
            lock (_lock)
            {
                return [.. _durableRegressions];
            }
        }
    }

    /// <summary>Whether the command reached this vehicle (and it answered it) on any of its streams.</summary>
    public bool HasReceived(string commandId)
    {
        lock (_lock)
        {
            return _executedCommands.Contains(commandId);
        }
    }

    /// <summary>From now on, remember when the first report sent after this moment is acked.</summary>
    public void Mark(long timestamp)
    {
        lock (_lock)
        {
            _mark = timestamp;
            _firstAckAfterMark = 0;
        }
    }

    /// <summary>Timestamp (Stopwatch) of the first ack of a report sent after <see cref="Mark"/>; null if none yet.</summary>
    public long? FirstAckAfterMark
    {
        get
        {
            lock (_lock)
            {
                return _firstAckAfterMark == 0 ? null : _firstAckAfterMark;
            }
        }
    }

    internal async Task RunAsync(SiloRotation rotation, SiloProcess first, TimeSpan interval, CancellationToken stop)
    {
        // A connection of its own per silo, as a real vehicle has: one vehicle's resets never fault another's streams.
        var channels = new Dictionary<SiloProcess, GrpcChannel>();
        try
        {
            var silo = first;
            var backoff = _firstBackoff;
            for (var session = 0; session < 500 && !stop.IsCancellationRequested; session++)
            {
                if (!channels.TryGetValue(silo, out var channel))
                {
                    channel = GrpcChannel.ForAddress("http://" + silo.Endpoint);
                    channels.Add(silo, channel);
                }

                var ackedBefore = ReportsAcked;
                var end = await RunSessionAsync(silo, channel.CreateCallInvoker(), interval, stop);
                lock (_lock)
                {
                    _streamEnds.Add(end);
                }

                // Exponential backoff while sessions fail at once, with a per-vehicle offset so reconnects do not march in step.
                backoff = ReportsAcked > ackedBefore ? _firstBackoff : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _maxBackoff.Ticks));
                try
                {
                    await Task.Delay(backoff + TimeSpan.FromMilliseconds((uint)Vin.GetHashCode() % 50), stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                silo = rotation.Next();
            }
        }
        finally
        {
            foreach (var channel in channels.Values)
            {
                channel.Dispose();
            }
        }
    }

    private async Task<StreamEnd> RunSessionAsync(SiloProcess silo, CallInvoker invoker, TimeSpan interval, CancellationToken stop)
    {
        // Not linked to stop: at the end the vehicle hangs up politely, and only cancels if the server does not finish.
        using var abort = new CancellationTokenSource();
        using var call = new ApiClient(invoker, _token).Connect(abort.Token);
        using var writeLock = new SemaphoreSlim(1, 1);
        try
        {
            ulong resumeFrom;
            string lastCommandId;
            lock (_lock)
            {
                _silo = silo.Endpoint;
                resumeFrom = _sequence;
                lastCommandId = _lastCommandId;
            }

            // Not the stop token: the call's own (abort) ends the stream.
            await call.RequestStream.WriteAsync(new VehicleMessage
            {
                Hello = new Hello
                {
                    Vin = Vin,
                    FirmwareVersion = "fw-itest",
                    SoftwareVersion = "sw-itest",
                    Resume = resumeFrom == 0 ? null : new ResumeInfo { LastSentSequence = resumeFrom, LastCommandId = lastCommandId },
                },
            }, CancellationToken.None);
            using (var welcomeTimeout = new CancellationTokenSource(_welcomeTimeout))
            {
                if (!await call.ResponseStream.MoveNext(welcomeTimeout.Token))
                {
                    return End(silo, call.GetStatus(), stop);
                }
            }

            var welcome = call.ResponseStream.Current;
            if (welcome.KindCase != ServerMessage.KindOneofCase.Welcome)
            {
                Problem("first message on " + silo.Name + " was " + welcome.KindCase + ", not Welcome");
                return End(silo, new Status(StatusCode.Internal, "no welcome"), stop);
            }

            lock (_lock)
            {
                if (welcome.Welcome.DurableSequence < _highestDurableAcked)
                {
                    var regression = At() + " Welcome on " + silo.Name + " says durable_sequence " + welcome.Welcome.DurableSequence
                        + " but " + _highestDurableAcked + " was acknowledged durable before";
                    _durableRegressions.Add(regression);
                    _problems.Add(regression);
                }

                _highestDurableAcked = Math.Max(_highestDurableAcked, welcome.Welcome.DurableSequence);
            }

            Interlocked.Increment(ref _connects);
            var reader = ReadAsync(call, silo, writeLock, stop);
            await SendReportsAsync(call, silo, reader, writeLock, interval, abort, stop);
            if (stop.IsCancellationRequested && !reader.IsCompleted)
            {
                await WriteLockedAsync(writeLock, () => call.RequestStream.CompleteAsync());
                if (await Task.WhenAny(reader, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)) != reader)
                {
                    await abort.CancelAsync();
                }
            }

            return await reader;
        }
        catch (RpcException ex)
        {
            return End(silo, ex.Status, stop);
        }
        catch (OperationCanceledException)
        {
            return End(silo, new Status(StatusCode.DeadlineExceeded, "no Welcome within " + _welcomeTimeout), stop);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or HttpRequestException)
        {
            return End(silo, new Status(StatusCode.Unavailable, ex.GetType().Name + ": " + ex.Message), stop);
        }
        finally
        {
            lock (_lock)
            {
                _pending?.TrySetResult(false);
                _pending = null;
            }

            await abort.CancelAsync();
        }
    }

    private async Task SendReportsAsync(
        AsyncDuplexStreamingCall<VehicleMessage, ServerMessage> call,
        SiloProcess silo,
        Task<StreamEnd> reader,
        SemaphoreSlim writeLock,
        TimeSpan interval,
        CancellationTokenSource abort,
        CancellationToken stop)
    {
        var resend = false;
        for (var i = 0; i < 100_000 && !stop.IsCancellationRequested && !reader.IsCompleted; i++)
        {
            // True once the report is answered for good; false when the server asks for it again (UNAVAILABLE notice).
            var acked = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            ulong sequence;
            lock (_lock)
            {
                sequence = resend ? _sequence : ++_sequence;
                _pending = acked;
                _pendingSequence = sequence;
                _pendingSentAt = Stopwatch.GetTimestamp();
            }

            var report = new StatusReport
            {
                Sequence = sequence,
                CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow),
                // traveled_distance carries the sequence, so the stored state tells which report it last applied.
                Signals = new Signals { Speed = sequence % 200, TraveledDistance = sequence },
            };
            try
            {
                await WriteLockedAsync(writeLock, () => call.RequestStream.WriteAsync(new VehicleMessage { Status = report }));
            }
            catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException or OperationCanceledException)
            {
                return; // The reader tells how the stream ended.
            }

            // One linked source per report, disposed with it: no registration on the stop token outlives its report.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop);
            wait.CancelAfter(_ackTimeout);
            var waited = await Task.WhenAny(acked.Task, reader, Task.Delay(Timeout.Infinite, wait.Token));
            if (waited == reader || stop.IsCancellationRequested)
            {
                return;
            }

            if (waited != acked.Task)
            {
                // A vehicle whose reports go unanswered reconnects, as a real one would after its heartbeat timeout.
                Problem("no answer to report " + sequence + " within " + _ackTimeout + " on " + silo.Name + "; reconnecting");
                await abort.CancelAsync();
                return;
            }

            resend = !await acked.Task;
            try
            {
                await Task.Delay(interval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<StreamEnd> ReadAsync(
        AsyncDuplexStreamingCall<VehicleMessage, ServerMessage> call, SiloProcess silo, SemaphoreSlim writeLock, CancellationToken stop)
    {
        try
        {
            for (var i = 0; i < 1_000_000; i++)
            {
                if (!await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    return End(silo, call.GetStatus(), stop);
                }

                var message = call.ResponseStream.Current;
                switch (message.KindCase)
                {
                    case ServerMessage.KindOneofCase.Ack:
                        OnAck(message.Ack);
                        break;
                    case ServerMessage.KindOneofCase.Command:
                        Interlocked.Increment(ref _commandsReceived);
                        if (!FirstDelivery(message.Command.CommandId))
                        {
                            // Carried out once already: a vehicle never repeats a command (it could be "unlock").
                            break;
                        }

                        var result = new CommandResult { CommandId = message.Command.CommandId, Outcome = CommandOutcome.Succeeded, Message = "done" };
                        await WriteLockedAsync(writeLock, () => call.RequestStream.WriteAsync(new VehicleMessage { CommandResult = result }));
                        break;
                    case ServerMessage.KindOneofCase.Throttle:
                        Interlocked.Increment(ref _throttles);
                        Answered(final: true);
                        break;
                    case ServerMessage.KindOneofCase.Error:
                        Problem("error notice on " + silo.Name + ": " + message.Error.Code + " " + message.Error.Message);
                        if (message.Error.Sequence != 0)
                        {
                            var again = message.Error.Code == "UNAVAILABLE";
                            if (again)
                            {
                                Interlocked.Increment(ref _reportsRefused);
                            }

                            Answered(final: !again);
                        }

                        break;
                }
            }

            return End(silo, new Status(StatusCode.Internal, "read a million messages"), stop);
        }
        catch (RpcException ex)
        {
            return End(silo, ex.Status, stop);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException or HttpRequestException)
        {
            return End(silo, new Status(StatusCode.Unavailable, ex.GetType().Name + ": " + ex.Message), stop);
        }
    }

    private bool FirstDelivery(string commandId)
    {
        lock (_lock)
        {
            _lastCommandId = commandId;
            if (_executedCommands.Add(commandId))
            {
                return true;
            }

            _duplicateDeliveries++;
            return false;
        }
    }

    private void OnAck(Ack ack)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            _highestAcked = Math.Max(_highestAcked, ack.Sequence);
            _highestDurableAcked = Math.Max(_highestDurableAcked, ack.DurableSequence);
            if (_pending is { } pending && ack.Sequence == _pendingSequence)
            {
                if (_pendingSentAt >= _mark && _firstAckAfterMark == 0)
                {
                    _firstAckAfterMark = now;
                }

                _pending = null;
                pending.TrySetResult(true);
            }
        }

        Interlocked.Increment(ref _reportsAcked);
    }

    private void Answered(bool final)
    {
        lock (_lock)
        {
            _pending?.TrySetResult(final);
            _pending = null;
        }
    }

    private void Problem(string what)
    {
        lock (_lock)
        {
            if (_problems.Count < 100)
            {
                _problems.Add(At() + " " + what);
            }
        }
    }

    private StreamEnd End(SiloProcess silo, Status status, CancellationToken stop) =>
        new(silo.Name, silo.State, status.StatusCode, status.Detail, Stopwatch.GetElapsedTime(_started), stop.IsCancellationRequested);

    private string At() => "+" + Stopwatch.GetElapsedTime(_started).TotalSeconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture) + "s";

    private static async Task WriteLockedAsync(SemaphoreSlim writeLock, Func<Task> write)
    {
        await writeLock.WaitAsync();
        try
        {
            await write();
        }
        finally
        {
            writeLock.Release();
        }
    }
}
