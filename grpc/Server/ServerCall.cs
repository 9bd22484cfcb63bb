using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Vehicles.Grpc.Server;

/// <summary>
/// One call on the server. A single object per call plays every part the handler sees — the call context,
/// the request stream and the response stream — so that a call allocates little.
/// </summary>
/// <remarks>
/// A call that can end before its handler does (a deadline, or a streaming call when the server stops)
/// gets a cancellation source and an abort signal: the status is sent as soon as the call is aborted, while
/// the request delegate still waits for the handler because Kestrel reuses the <see cref="HttpContext"/>.
/// Response writes and the final status are serialised with a semaphore in that case only.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "RunAsync disposes what it creates before the call ends; the object is not reachable after that.")]
internal sealed class ServerCall<TRequest, TResponse> : ServerCallContext, IHttpContextServerCallContext, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>
    where TRequest : class
    where TResponse : class
{
    private readonly HttpContext _httpContext;
    private readonly ServerMethodHandler<TRequest, TResponse> _handler;
    private readonly GrpcServerRuntime _runtime;
    private CancellationToken _cancellationToken;
    private CancellationTokenSource? _cts;
    private TaskCompletionSource? _aborted;
    private Status? _abortStatus;
    private SemaphoreSlim? _writeLock;
    private ITimer? _deadlineTimer;
    private CancellationTokenRegistration _requestAbortedRegistration;
    private CancellationTokenRegistration _stoppingRegistration;
    private DateTime _deadline = DateTime.MaxValue;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private Dictionary<object, object>? _userState;
    private Status _status = Status.DefaultSuccess;
    private bool _compressResponses;
    private bool _messageWritten;
    private bool _headersSent;
    private bool _completed;
    private bool _finished;
    private bool _readCompleted;
    private int _writeInProgress;
    private int _readInProgress;
    private TRequest? _current;

    public ServerCall(HttpContext httpContext, ServerMethodHandler<TRequest, TResponse> handler)
    {
        _httpContext = httpContext;
        _handler = handler;
        _runtime = handler.Runtime;
        _cancellationToken = httpContext.RequestAborted;
    }

    public HttpContext HttpContext => _httpContext;

    public override string Method => _handler.Method.FullName;

    public override string Host => _httpContext.Request.Host.Value ?? string.Empty;

    public override string Peer
    {
        get
        {
            var connection = _httpContext.Connection;
            var address = connection.RemoteIpAddress;
            if (address is null)
            {
                return "unknown";
            }

            var port = connection.RemotePort.ToString(CultureInfo.InvariantCulture);
            return address.AddressFamily == AddressFamily.InterNetworkV6
                ? "ipv6:[" + address + "]:" + port
                : "ipv4:" + address + ":" + port;
        }
    }

    public override DateTime Deadline => _deadline;

    public override Metadata RequestHeaders => _requestHeaders ??= ServerProtocol.ReadRequestMetadata(_httpContext.Request.Headers);

    public override CancellationToken CancellationToken => _cancellationToken;

    public override Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    public override Status Status
    {
        get => _status;
        set => _status = value;
    }

    public override IDictionary<object, object> UserState => _userState ??= [];

    public TRequest Current => _current ?? throw new InvalidOperationException("No message has been read yet.");

    public async Task RunAsync()
    {
        var type = _handler.Method.Type;
        var streaming = type != MethodType.Unary;
        var request = _httpContext.Request;
        var response = _httpContext.Response;
        response.Headers.ContentType = ServerProtocol.ContentTypeValue;

        TimeSpan? timeout = null;
        if (request.Headers.TryGetValue(GrpcProtocol.TimeoutHeader, out var timeoutValue))
        {
            // An unparseable timeout is ignored (and logged), as grpc-dotnet does: the spec gives no status
            // for it and failing the call would punish clients for a header they cannot fix at runtime.
            if (GrpcProtocol.TryParseTimeout(timeoutValue.ToString(), out var parsed))
            {
                timeout = parsed;
            }
            else
            {
                ServerLog.InvalidTimeoutIgnored(_runtime.Logger, timeoutValue.ToString(), Method);
            }
        }

        if (_runtime.CompressResponses && ServerProtocol.AcceptsGzip(request.Headers[GrpcProtocol.AcceptEncodingHeader]))
        {
            _compressResponses = true;
            response.Headers[GrpcProtocol.EncodingHeader] = ServerProtocol.GzipValue;
        }

        if (streaming)
        {
            // Streams may be idle for long and carry any amount of data in total.
            var minRate = _httpContext.Features.Get<IHttpMinRequestBodyDataRateFeature>();
            if (minRate is not null)
            {
                minRate.MinDataRate = null;
            }

            var maxSize = _httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (maxSize is not null && !maxSize.IsReadOnly)
            {
                maxSize.MaxRequestBodySize = null;
            }
        }

        if (timeout is not null || streaming)
        {
            InitializeAbort(timeout, streaming);
        }

        try
        {
            var handlerTask = InvokeHandlerAsync(type);
            if (_aborted is not null)
            {
                await Task.WhenAny(_aborted.Task, handlerTask);
                if (!handlerTask.IsCompleted)
                {
                    await CompleteAsync(_abortStatus!.Value, null, endResponse: true);
                    await ObserveAbandonedHandlerAsync(handlerTask);
                    return;
                }
            }

            Exception? error = null;
            try
            {
                await handlerTask;
            }
            catch (Exception ex)
            {
                error = ex;
            }

            if (error is null)
            {
                await CompleteAsync(_status, null, endResponse: false);
            }
            else
            {
                var (status, trailers) = StatusFromException(error);
                await CompleteAsync(status, trailers, endResponse: false);
            }
        }
        finally
        {
            if (_cts is not null)
            {
                DisposeAbort();
            }
        }
    }

    private void InitializeAbort(TimeSpan? timeout, bool streaming)
    {
        _cts = new CancellationTokenSource();
        _cancellationToken = _cts.Token;
        _aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writeLock = new SemaphoreSlim(1, 1);
        _requestAbortedRegistration = _httpContext.RequestAborted.UnsafeRegister(
            static state => ((ServerCall<TRequest, TResponse>)state!).CancelQuietly(),
            this);
        if (timeout is { } value)
        {
            var time = _runtime.TimeProvider;
            _deadline = time.GetUtcNow().UtcDateTime + value;
            _deadlineTimer = time.CreateTimer(
                static state => ((ServerCall<TRequest, TResponse>)state!).Abort(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded")),
                this,
                value,
                Timeout.InfiniteTimeSpan);
        }

        if (streaming)
        {
            _stoppingRegistration = _runtime.Stopping.UnsafeRegister(
                static state => ((ServerCall<TRequest, TResponse>)state!).Abort(new Status(StatusCode.Unavailable, "Server shutting down.")),
                this);
        }
    }

    private void DisposeAbort()
    {
        // After this, a late timer or shutdown callback must not touch the HttpContext: Kestrel reuses it.
        lock (_aborted!)
        {
            _finished = true;
        }

        _deadlineTimer?.Dispose();
        _requestAbortedRegistration.Dispose();
        _stoppingRegistration.Dispose();
        _cts!.Dispose();
    }

    private void CancelQuietly()
    {
        try
        {
            _cts?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call already ended.
        }
    }

    private void Abort(Status status)
    {
        lock (_aborted!)
        {
            if (_finished || _abortStatus is not null)
            {
                return;
            }

            _abortStatus = status;
            _aborted.TrySetResult();
            CancelQuietly();

            // A handler waiting for a request message that will never come must wake up.
            _httpContext.Request.BodyReader.CancelPendingRead();
        }
    }

    private async Task ObserveAbandonedHandlerAsync(Task handlerTask)
    {
        try
        {
            await handlerTask;
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or InvalidOperationException or IOException)
        {
            ServerLog.AbandonedHandlerEnded(_runtime.Logger, ex, Method);
        }
        catch (Exception ex)
        {
            ServerLog.HandlerError(_runtime.Logger, ex, Method);
        }
    }

    private (Status Status, Metadata? Trailers) StatusFromException(Exception error)
    {
        if (error is RpcException rpc)
        {
            if (rpc.StatusCode is StatusCode.Unknown or StatusCode.Internal)
            {
                ServerLog.ErrorStatus(_runtime.Logger, rpc, Method, rpc.StatusCode);
            }

            return (rpc.Status, rpc.Trailers);
        }

        if (_abortStatus is { } abort)
        {
            return (abort, null);
        }

        if (error is OperationCanceledException && _httpContext.RequestAborted.IsCancellationRequested)
        {
            return (new Status(StatusCode.Cancelled, "Call canceled by the client."), null);
        }

        ServerLog.HandlerError(_runtime.Logger, error, Method);
        var detail = _runtime.Options.EnableDetailedErrors
            ? "Exception was thrown by handler. " + error.GetType().Name + ": " + error.Message
            : "Exception was thrown by handler.";
        return (new Status(StatusCode.Unknown, detail), null);
    }

    private Task InvokeHandlerAsync(MethodType type)
    {
        try
        {
            return type switch
            {
                MethodType.Unary => InvokeUnaryAsync(),
                MethodType.ServerStreaming => InvokeServerStreamingAsync(),
                MethodType.ClientStreaming => InvokeClientStreamingAsync(),
                _ => ((DuplexStreamingServerMethod<TRequest, TResponse>)_handler.Invoker!)(this, this, this),
            };
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    private async Task InvokeUnaryAsync()
    {
        var request = await ReadSingleMessageAsync();
        var response = await ((UnaryServerMethod<TRequest, TResponse>)_handler.Invoker!)(request, this);
        await WriteSingleResponseAsync(response);
    }

    private async Task InvokeServerStreamingAsync()
    {
        var request = await ReadSingleMessageAsync();
        await ((ServerStreamingServerMethod<TRequest, TResponse>)_handler.Invoker!)(request, this, this);
    }

    private async Task InvokeClientStreamingAsync()
    {
        var response = await ((ClientStreamingServerMethod<TRequest, TResponse>)_handler.Invoker!)(this, this);
        await WriteSingleResponseAsync(response);
    }

    private async Task WriteSingleResponseAsync(TResponse response)
    {
        if (response is null)
        {
            throw new InvalidOperationException("The handler returned a null response message.");
        }

        if (_writeLock is null)
        {
            // Nothing else can write on a call that cannot be aborted; Kestrel flushes when the delegate returns.
            WriteMessage(response);
            return;
        }

        await _writeLock.WaitAsync();
        try
        {
            if (!_completed)
            {
                WriteMessage(response);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task CompleteAsync(Status status, Metadata? trailers, bool endResponse)
    {
        if (_writeLock is not null)
        {
            await _writeLock.WaitAsync();
        }

        try
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            var response = _httpContext.Response;
            if (!_messageWritten && !_headersSent && !response.HasStarted)
            {
                // Trailers-only: the status rides in the one HEADERS frame, which also ends the stream.
                ServerProtocol.WriteStatus(response.Headers, status, _responseTrailers, trailers);
            }
            else
            {
                var trailersFeature = _httpContext.Features.Get<IHttpResponseTrailersFeature>();
                if (trailersFeature is null)
                {
                    throw new InvalidOperationException("The transport does not support trailers; gRPC needs HTTP/2.");
                }

                ServerProtocol.WriteStatus(trailersFeature.Trailers, status, _responseTrailers, trailers);
            }

            if (endResponse)
            {
                try
                {
                    await response.CompleteAsync();
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
                {
                    ServerLog.CompleteFailed(_runtime.Logger, ex, Method);
                }
            }
        }
        finally
        {
            _writeLock?.Release();
        }
    }

    private void WriteMessage(TResponse message)
    {
        var marshaller = _handler.Method.ResponseMarshaller;
        var size = marshaller.CalculateSize(message);
        if (size > _runtime.MaxSendMessageSize)
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"Sending message larger than max ({size} vs. {_runtime.MaxSendMessageSize})."));
        }

        var writer = _httpContext.Response.BodyWriter;
        if (_compressResponses)
        {
            var plain = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
            try
            {
                marshaller.Write(message, plain.AsSpan(0, size));
                var compressed = ServerProtocol.Compress(plain.AsSpan(0, size));
                var frame = writer.GetSpan(GrpcProtocol.FrameHeaderLength + compressed.Length);
                GrpcProtocol.WriteFrameHeader(frame, compressed: true, compressed.Length);
                compressed.CopyTo(frame[GrpcProtocol.FrameHeaderLength..]);
                writer.Advance(GrpcProtocol.FrameHeaderLength + compressed.Length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(plain);
            }
        }
        else
        {
            var frame = writer.GetSpan(GrpcProtocol.FrameHeaderLength + size);
            GrpcProtocol.WriteFrameHeader(frame, compressed: false, size);
            marshaller.Write(message, frame.Slice(GrpcProtocol.FrameHeaderLength, size));
            writer.Advance(GrpcProtocol.FrameHeaderLength + size);
        }

        _messageWritten = true;
    }

    /// <summary>Writes a message of a streaming response, waiting for the transport to take it (back-pressure).</summary>
    public async Task WriteAsync(TResponse message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Interlocked.Exchange(ref _writeInProgress, 1) != 0)
        {
            throw new InvalidOperationException("Can't write the message because the previous write is in progress.");
        }

        try
        {
            var writeLock = _writeLock ?? throw new InvalidOperationException("This call has no response stream.");
            await writeLock.WaitAsync(cancellationToken);
            try
            {
                if (_completed)
                {
                    throw new InvalidOperationException("Can't write the message because the call is complete.");
                }

                WriteMessage(message);
                var result = await _httpContext.Response.BodyWriter.FlushAsync(_cancellationToken);
                if (result.IsCanceled)
                {
                    throw new OperationCanceledException(_cancellationToken);
                }
            }
            finally
            {
                writeLock.Release();
            }
        }
        finally
        {
            Volatile.Write(ref _writeInProgress, 0);
        }
    }

    public override async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        if (_writeLock is not null)
        {
            await _writeLock.WaitAsync();
        }

        try
        {
            if (_completed)
            {
                throw new InvalidOperationException("Can't write response headers because the call is complete.");
            }

            if (_headersSent || _messageWritten || _httpContext.Response.HasStarted)
            {
                throw new InvalidOperationException("Response headers can only be sent once per call.");
            }

            ServerProtocol.AppendMetadata(_httpContext.Response.Headers, responseHeaders);
            _headersSent = true;
            await _httpContext.Response.BodyWriter.FlushAsync(_cancellationToken);
        }
        finally
        {
            _writeLock?.Release();
        }
    }

    /// <summary>Reads the next message of a streaming request.</summary>
    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _readInProgress, 1) != 0)
        {
            throw new InvalidOperationException("Can't read the next message because the previous read is in progress.");
        }

        try
        {
            if (_completed)
            {
                throw new InvalidOperationException("Can't read messages after the call is complete.");
            }

            if (_readCompleted)
            {
                return false;
            }

            var message = await ReadMessageAsync(cancellationToken);
            if (message is null)
            {
                _readCompleted = true;
                return false;
            }

            _current = message;
            return true;
        }
        finally
        {
            Volatile.Write(ref _readInProgress, 0);
        }
    }

    // Pooled builders: these awaits usually go asynchronous (DATA after HEADERS) and run once per call.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TRequest> ReadSingleMessageAsync()
    {
        var message = await ReadMessageAsync(_cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.Internal, "Incomplete message: the request has no message."));

        // A unary request carries exactly one message: anything after it is a protocol error.
        var reader = _httpContext.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(_cancellationToken);
            ThrowIfReadCanceled(result);
            if (!result.Buffer.IsEmpty)
            {
                reader.AdvanceTo(result.Buffer.End);
                throw new RpcException(new Status(StatusCode.Internal, "Additional data after the message received."));
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                _readCompleted = true;
                return message;
            }
        }
    }

    /// <summary>Reads one length-prefixed message; <see langword="null"/> when the request stream ended cleanly.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TRequest?> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var reader = _httpContext.Request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (_abortStatus is { } abort)
            {
                throw new RpcException(abort);
            }

            ThrowIfReadCanceled(result);
            var buffer = result.Buffer;
            if (TryReadMessage(ref buffer, out var message))
            {
                reader.AdvanceTo(buffer.Start);
                return message;
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                if (buffer.IsEmpty)
                {
                    return null;
                }

                throw new RpcException(new Status(StatusCode.Internal, "Incomplete message."));
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private void ThrowIfReadCanceled(in ReadResult result)
    {
        if (result.IsCanceled)
        {
            throw new RpcException(_abortStatus ?? Status.DefaultCancelled);
        }
    }

    private bool TryReadMessage(ref ReadOnlySequence<byte> buffer, out TRequest? message)
    {
        message = null;
        if (buffer.Length < GrpcProtocol.FrameHeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderLength];
        buffer.Slice(0, GrpcProtocol.FrameHeaderLength).CopyTo(header);
        var (flag, length) = GrpcProtocol.ReadFrameHeader(header);
        if (length > (uint)_runtime.MaxReceiveMessageSize)
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"Received message larger than max ({length} vs. {_runtime.MaxReceiveMessageSize})."));
        }

        if (flag > 1)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"Unexpected compressed flag value {flag} in a message frame."));
        }

        if (buffer.Length < GrpcProtocol.FrameHeaderLength + length)
        {
            return false;
        }

        var payload = buffer.Slice(GrpcProtocol.FrameHeaderLength, length);
        buffer = buffer.Slice(payload.End);
        message = flag == 1 ? ParseCompressed(payload) : Parse(payload);
        return true;
    }

    private TRequest ParseCompressed(in ReadOnlySequence<byte> payload)
    {
        var encoding = _httpContext.Request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length == 0 || string.Equals(encoding, GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(
                StatusCode.Internal,
                "Request sent a compressed message without a grpc-encoding (or with 'identity')."));
        }

        if (!string.Equals(encoding, GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase))
        {
            var trailers = new Metadata { { GrpcProtocol.AcceptEncodingHeader, ServerProtocol.AcceptedEncodings } };
            throw new RpcException(
                new Status(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {ServerProtocol.AcceptedEncodings}"),
                trailers);
        }

        var bytes = ServerProtocol.Decompress(payload, _runtime.MaxDecompressedMessageSize, out var length);
        try
        {
            return Parse(new ReadOnlySequence<byte>(bytes, 0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private TRequest Parse(in ReadOnlySequence<byte> payload)
    {
        try
        {
            return _handler.Method.RequestMarshaller.Parse(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize request message.") { DebugException = ex });
        }
    }
}

/// <summary>Gives access to the HTTP context behind a call context.</summary>
internal interface IHttpContextServerCallContext
{
    HttpContext HttpContext { get; }
}
