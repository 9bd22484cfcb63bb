using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Actors;
using Vehicles.Cluster.V1;
using Vehicles.Grpc;

namespace Vehicles.Cluster;

/// <summary>
/// The client side of silo-to-silo traffic: one HTTP/2 connection (a <see cref="GrpcChannel"/>) per peer endpoint,
/// reused by every call and multiplexing grain calls, probes and session pushes. Grain calls to a peer share one
/// long-lived <c>Calls</c> stream; see <see cref="SiloLink"/>.
/// </summary>
public sealed partial class SiloConnections : IAsyncDisposable
{
    internal const string KeyHeader = "x-vehicles-cluster-key";

    private static readonly Google.Protobuf.Reflection.ServiceDescriptor _service = SiloReflection.Descriptor.Services[0];
    internal static readonly Method<ProbeRequest, ProbeReply> ProbeMethod = Method.Create<ProbeRequest, ProbeReply>(_service, "Probe");
    internal static readonly Method<CallBatch, ResultBatch> CallsMethod = Method.Create<CallBatch, ResultBatch>(_service, "Calls");
    internal static readonly Method<SessionOperation, SessionOperationReply> SessionMethod = Method.Create<SessionOperation, SessionOperationReply>(_service, "Session");
    internal static readonly Method<ReleaseRequest, ReleaseReply> ReleaseMethod = Method.Create<ReleaseRequest, ReleaseReply>(_service, "Release");

    private readonly ConcurrentDictionary<string, SiloLink> _links = new(StringComparer.Ordinal);
    private readonly ClusterOptions _options;
    private readonly string _clusterKey;
    private readonly GrainMessageCodec _codec;
    private readonly TimeProvider _time;
    private readonly TimeSpan _callTimeout;
    private readonly ILogger<SiloConnections> _logger;
    private readonly ITimer _timeouts;
    private volatile bool _disposed;

    /// <summary>Creates the pool; connections open on first use.</summary>
    public SiloConnections(
        IOptions<ClusterOptions> options, ClusterKey clusterKey, GrainMessageCodec codec, IOptions<ActorsOptions> actorsOptions, TimeProvider time, ILogger<SiloConnections> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterKey);
        ArgumentNullException.ThrowIfNull(actorsOptions);
        _options = options.Value;
        _clusterKey = clusterKey.Value;
        _codec = codec;
        _time = time;
        _callTimeout = actorsOptions.Value.CallTimeout;
        _logger = logger;
        _timeouts = time.CreateTimer(static s => ((SiloConnections)s!).ExpireCalls(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Sends a grain call to the silo at <paramref name="endpoint"/>; the answer completes <paramref name="request"/>.</summary>
    public void SendCall(string endpoint, GrainId target, GrainRequest request, uint hops)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_disposed)
        {
            request.TrySetException(new GrainUnavailableException("This silo is shutting down; the call to " + target + " was not sent."));
            return;
        }

        byte[] payload;
        try
        {
            payload = _codec.EncodeRequest(target, request);
        }
        catch (Exception ex)
        {
            request.TrySetException(ex);
            return;
        }

        GetLink(endpoint).Enqueue(new OutgoingCall(request, payload, hops, _time.GetTimestamp()));
    }

    /// <summary>Probes the silo at <paramref name="silo"/>: true when it answers as that generation within the probe timeout.</summary>
    public async Task<bool> ProbeAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        try
        {
            var link = GetLink(silo.Endpoint);
            using var call = link.Invoker.AsyncUnaryCall(
                ProbeMethod, null, Options(_time.GetUtcNow().UtcDateTime + _options.ProbeTimeout, cancellationToken), new ProbeRequest { ExpectedGeneration = silo.Generation });
            var reply = await call;
            return reply.Generation == silo.Generation;
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or HttpRequestException or IOException)
        {
            return false;
        }
    }

    /// <summary>Runs a session operation on the silo holding the stream; false when it failed or the session is gone.</summary>
    public async Task<bool> SessionAsync(string endpoint, SessionOperation operation, CancellationToken cancellationToken = default)
    {
        try
        {
            using var call = GetLink(endpoint).Invoker.AsyncUnaryCall(
                SessionMethod, null, Options(_time.GetUtcNow().UtcDateTime + _callTimeout, cancellationToken), operation);
            return (await call).Accepted;
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or HttpRequestException or IOException)
        {
            LogSessionOperationFailed(_logger, ex, operation.Vin, endpoint);
            return false;
        }
    }

    /// <summary>
    /// Asks the silo at <paramref name="endpoint"/> to release (write and deactivate) its activation of a grain; false
    /// when it could not be reached in time or still owns the grain.
    /// </summary>
    public async Task<bool> ReleaseAsync(string endpoint, GrainId grainId, long membershipVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            using var call = GetLink(endpoint).Invoker.AsyncUnaryCall(
                ReleaseMethod,
                null,
                Options(_time.GetUtcNow().UtcDateTime + timeout, cancellationToken),
                new ReleaseRequest { GrainType = grainId.Type, GrainKey = grainId.Key, MembershipVersion = membershipVersion });
            return (await call).Released;
        }
        catch (Exception ex) when (ex is RpcException or HttpRequestException or IOException)
        {
            return false;
        }
    }

    /// <summary>Closes every connection; calls still waiting fail with <see cref="GrainUnavailableException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _timeouts.DisposeAsync();
        foreach (var link in _links.Values)
        {
            await link.DisposeAsync();
        }

        _links.Clear();
    }

    internal CallOptions Options(DateTime? deadline, CancellationToken cancellationToken)
        => new(new Metadata { { KeyHeader, _clusterKey } }, deadline, cancellationToken);

    private SiloLink GetLink(string endpoint)
    {
        if (_links.TryGetValue(endpoint, out var link))
        {
            return link;
        }

        return _links.GetOrAdd(endpoint, static (e, self) => new SiloLink(self, e, self._codec, self._options.MaxBatchSize, self._logger), this);
    }

    private void ExpireCalls()
    {
        var limit = _time.GetTimestamp() - (long)(_callTimeout.TotalSeconds * _time.TimestampFrequency);
        foreach (var link in _links.Values)
        {
            link.ExpireOlderThan(limit, _callTimeout);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session operation for {Vin} on silo {Endpoint} failed")]
    private static partial void LogSessionOperationFailed(ILogger logger, Exception exception, string vin, string endpoint);

    internal readonly record struct OutgoingCall(GrainRequest Request, byte[] Payload, uint Hops, long Timestamp);
}

/// <summary>
/// The grain-call stream to one peer silo. Callers enqueue; one writer drains the queue into <see cref="CallBatch"/>
/// messages (everything queued while the previous message was written goes in the next, so batches grow with load and
/// an idle link sends single calls at once), one reader completes requests from <see cref="ResultBatch"/> messages. When
/// the stream breaks, calls awaiting an answer fail with <see cref="GrainUnavailableException"/> (they may have run) and
/// the next call opens a new stream.
/// </summary>
internal sealed partial class SiloLink : IAsyncDisposable
{
    private readonly SiloConnections _owner;
    private readonly GrainMessageCodec _codec;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private readonly Channel<SiloConnections.OutgoingCall> _queue = Channel.CreateUnbounded<SiloConnections.OutgoingCall>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<ulong, SiloConnections.OutgoingCall> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private ulong _nextId;

    public SiloLink(SiloConnections owner, string endpoint, GrainMessageCodec codec, int maxBatch, ILogger logger)
    {
        _owner = owner;
        Endpoint = endpoint;
        _codec = codec;
        _maxBatch = maxBatch;
        _logger = logger;
        _channel = GrpcChannel.ForAddress("http://" + endpoint, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            ConnectTimeout = TimeSpan.FromSeconds(2),
        });
        Invoker = _channel.CreateCallInvoker();
        _pump = Task.Run(RunAsync);
    }

    public string Endpoint { get; }

    public CallInvoker Invoker { get; }

    public void Enqueue(SiloConnections.OutgoingCall call)
    {
        if (!_queue.Writer.TryWrite(call))
        {
            call.Request.TrySetException(new GrainUnavailableException("The link to silo " + Endpoint + " is closed."));
        }
    }

    public void ExpireOlderThan(long timestamp, TimeSpan timeout)
    {
        foreach (var (id, call) in _pending)
        {
            if (call.Timestamp < timestamp && _pending.TryRemove(id, out _))
            {
                call.Request.TrySetException(new TimeoutException($"Call to {call.Request.Method} on silo {Endpoint} timed out after {timeout}."));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        try
        {
            await _pump;
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or HttpRequestException)
        {
            // The pump ends with whatever cancelling its stream raised.
        }

        FailPending("This silo is shutting down.");
        while (_queue.Reader.TryRead(out var call))
        {
            call.Request.TrySetException(new GrainUnavailableException("This silo is shutting down; the call was not sent to " + Endpoint + "."));
        }

        _channel.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (await _queue.Reader.WaitToReadAsync(token))
        {
            using var streamStop = CancellationTokenSource.CreateLinkedTokenSource(token);
            using var call = Invoker.AsyncDuplexStreamingCall(SiloConnections.CallsMethod, null, _owner.Options(null, streamStop.Token));
            var reader = ReadAsync(call.ResponseStream, streamStop.Token);
            try
            {
                await WriteAsync(call.RequestStream, reader, token);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                LogStreamFailed(_logger, ex, Endpoint);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                // Disposing: the stream was cancelled on purpose; waiting calls fail below.
            }

            await streamStop.CancelAsync();
            try
            {
                await reader;
            }
            catch (Exception)
            {
                // Reported by the writer's failure above; the stream is gone either way.
            }

            FailPending("The connection to silo " + Endpoint + " broke before the answer arrived; the call may have run.");
            if (!token.IsCancellationRequested)
            {
                // Each call in the queue gets its chance on the next stream; a dead peer fails them fast (connection refused).
                FailQueuedIfDead();
            }
        }
    }

    private async Task WriteAsync(IClientStreamWriter<CallBatch> requests, Task reader, CancellationToken token)
    {
        while (true)
        {
            var wait = _queue.Reader.WaitToReadAsync(token).AsTask();
            if (await Task.WhenAny(wait, reader) == reader)
            {
                await reader;
                throw new IOException("The silo " + Endpoint + " ended the calls stream.");
            }

            if (!await wait)
            {
                await requests.CompleteAsync();
                return;
            }

            var batch = new CallBatch();
            while (batch.Calls.Count < _maxBatch && _queue.Reader.TryRead(out var call))
            {
                if (call.Request.IsCompleted)
                {
                    continue;
                }

                var id = ++_nextId;
                _pending[id] = call;
                batch.Calls.Add(new GrainCall { Id = id, Request = UnsafeByteOperations.UnsafeWrap(call.Payload), Hops = call.Hops });
            }

            if (batch.Calls.Count > 0)
            {
                await requests.WriteAsync(batch, token);
            }
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<ResultBatch> responses, CancellationToken token)
    {
        while (await responses.MoveNext(token))
        {
            foreach (var result in responses.Current.Results)
            {
                if (_pending.TryRemove(result.Id, out var call))
                {
                    try
                    {
                        _codec.CompleteRequest(call.Request, result.Response.Memory);
                    }
                    catch (Exception ex)
                    {
                        call.Request.TrySetException(new InvalidDataException("Undecodable answer from silo " + Endpoint + ".", ex));
                    }
                }
            }
        }
    }

    private void FailPending(string message)
    {
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var call))
            {
                call.Request.TrySetException(new GrainUnavailableException(message));
            }
        }
    }

    // After a failed stream, calls already queued would wait for the next attempt; fail them now so callers learn fast
    // and retry through placement (which drops a dead silo within the failure-detection bound).
    private void FailQueuedIfDead()
    {
        while (_queue.Reader.TryRead(out var call))
        {
            call.Request.TrySetException(new GrainUnavailableException("Silo " + Endpoint + " is unreachable; the call was not sent."));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Calls stream to silo {Endpoint} failed")]
    private static partial void LogStreamFailed(ILogger logger, Exception exception, string endpoint);
}

/// <summary>The secret silos present to each other (see <see cref="ClusterOptions.DeriveClusterKey"/>).</summary>
/// <param name="Value">The key.</param>
public sealed record ClusterKey(string Value);
