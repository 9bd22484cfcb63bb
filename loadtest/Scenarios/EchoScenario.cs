using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Vehicles.Api.V1;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// The raw baseline: N duplex streams to <c>vehicles.testing.v1.TestService/Duplex</c> over the same gRPC client
/// (Grpc.Net.Client) and the same connection layout as the vehicles (one connection per stream unless shared), each
/// message as large as a typical status report. A step is one message and its echo. Dividing the telemetry rate by
/// this one shows what the actor runtime, validation and storage cost on top of gRPC itself.
/// </summary>
/// <remarks>Options: <c>streams</c> (default: the <c>vehicles</c> option, else 100), <c>payload-bytes</c> (default: the
/// size of a typical status report).</remarks>
public sealed class EchoScenario : IScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public const string ScenarioName = "echo";

    private EchoStream[] _streams = [];
    private ApiConnection? _connection;
    private ByteString _payload = ByteString.Empty;

    /// <inheritdoc />
    public string Name => ScenarioName;

    /// <summary>The size in bytes of a status report like the ones the simulated vehicles send.</summary>
    public static int TypicalReportBytes { get; } = new VehicleMessage
    {
        Status = new StatusReport
        {
            Sequence = 123_456,
            CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddYears(56)),
            Signals = new RouteSimulator(1).Advance(TimeSpan.FromSeconds(1)),
        },
    }.CalculateSize();

    /// <inheritdoc />
    public async ValueTask InitializeAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var target = context.Api.EchoTarget ?? context.Target
            ?? throw new ArgumentException("Scenario 'echo' needs --echo-target or --target (or --embedded).");
        var streams = (int)context.GetOption("streams", context.GetOption("vehicles", 100));
        var payloadBytes = (int)context.GetOption("payload-bytes", TypicalReportBytes);
        if (streams < 1 || payloadBytes < 0)
        {
            throw new FormatException("Option 'streams' must be at least 1 and 'payload-bytes' at least 0.");
        }

        _payload = ByteString.CopyFrom(new byte[payloadBytes]);
        // An explicit echo target is one server: the cluster's targets are not spread over for it.
        _connection = new ApiConnection(target, null, context.Api.EchoTarget is null ? context.Api : context.Api with { Targets = null });
        var connected = context.Gauge("connected");
        _streams = new EchoStream[streams];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, streams),
            new ParallelOptions { MaxDegreeOfParallelism = (int)context.GetOption("connect-parallelism", 64), CancellationToken = cancellationToken },
            async (i, token) =>
            {
                _streams[i] = await EchoStream.OpenAsync(_connection.ForEchoStream(i), token);
                connected.Increment();
            });
        context.Gauge("connections").Set(_connection.VehicleChannels);
    }

    /// <inheritdoc />
    public async ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var stream = _streams[(context.Worker >= 0 ? context.Worker : context.Sequence) % _streams.Length];
        try
        {
            await stream.EchoAsync(new EchoRequest { Payload = _payload }, cancellationToken);
            return StepResult.Ok;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return StepResult.Fail(CallErrors.StatusName(e));
        }
    }

    /// <inheritdoc />
    public ValueTask VerifyAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        long sent = 0, received = 0, failed = 0;
        foreach (var stream in _streams)
        {
            sent += stream.Sent;
            received += stream.Received;
            failed += stream.Failed;
        }

        context.Gauge("echo_sent").Set(sent);
        context.Gauge("echo_received").Set(received);
        if (sent != received + failed)
        {
            context.ReportDiscrepancy("unreconciled-echoes", $"{sent} sent but {received} echoed + {failed} failed");
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var stream in _streams)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
        }

        _connection?.Dispose();
    }

    /// <summary>One duplex stream: writes are serialised and replies come back in order, so waiters form a queue.</summary>
    private sealed class EchoStream : IAsyncDisposable
    {
        private readonly AsyncDuplexStreamingCall<EchoRequest, EchoReply> _call;
        private readonly CancellationTokenSource _stop;
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly ConcurrentQueue<TaskCompletionSource> _waiting = new();
        private readonly Task _reader;
        private long _sent;
        private long _received;
        private long _failed;

        private EchoStream(AsyncDuplexStreamingCall<EchoRequest, EchoReply> call, CancellationTokenSource stop)
        {
            _call = call;
            _stop = stop;
            _reader = Task.Run(ReadAsync, CancellationToken.None);
        }

        public long Sent => Interlocked.Read(ref _sent);

        public long Received => Interlocked.Read(ref _received);

        public long Failed => Interlocked.Read(ref _failed);

        public static async Task<EchoStream> OpenAsync(TestService.TestServiceClient client, CancellationToken cancellationToken)
        {
            var stop = new CancellationTokenSource();
            var call = client.Duplex(new CallOptions(cancellationToken: stop.Token));
            try
            {
                // One round trip proves the stream works before the load starts.
                await call.RequestStream.WriteAsync(new EchoRequest { Message = "hello" }, cancellationToken);
                if (!await call.ResponseStream.MoveNext(cancellationToken))
                {
                    throw new RpcException(call.GetStatus());
                }
            }
            catch
            {
                await stop.CancelAsync();
                call.Dispose();
                stop.Dispose();
                throw;
            }

            return new EchoStream(call, stop);
        }

        public async Task EchoAsync(EchoRequest request, CancellationToken cancellationToken)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Increment(ref _sent);
            await _writeLock.WaitAsync(CancellationToken.None);
            try
            {
                _waiting.Enqueue(waiter);
                await _call.RequestStream.WriteAsync(request, CancellationToken.None);
            }
            catch (Exception e)
            {
                waiter.TrySetException(e);
            }
            finally
            {
                _writeLock.Release();
            }

            try
            {
                await waiter.Task.WaitAsync(cancellationToken);
            }
            catch
            {
                Interlocked.Increment(ref _failed);
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _call.Dispose();
            _stop.Dispose();
            _writeLock.Dispose();
        }

        private async Task ReadAsync()
        {
            Exception error = new RpcException(new Status(StatusCode.Unavailable, "echo stream ended"));
            try
            {
                while (await _call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    if (_waiting.TryDequeue(out var waiter))
                    {
                        Interlocked.Increment(ref _received);
                        waiter.TrySetResult();
                    }
                }
            }
            catch (Exception e)
            {
                error = e;
            }

            while (_waiting.TryDequeue(out var waiter))
            {
                waiter.TrySetException(error);
            }
        }
    }
}
