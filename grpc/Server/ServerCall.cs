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
/// gets an <see cref="AbortState"/>: a cancellation source and an abort signal, so that the status is sent as
/// soon as the call is aborted, while the request delegate still waits for the handler because Kestrel reuses
/// the <see cref="HttpContext"/>. Response writes and the final status are serialised with a semaphore in that
/// case only. A unary call without a deadline (the common case) creates none of it and, when its request is
/// already buffered and its handler completes synchronously, runs without an async state machine.
/// </remarks>
internal sealed class ServerCall<TRequest, TResponse> : ServerCallContext, IHttpContextServerCallContext, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>
    where TRequest : class
    where TResponse : class
{
    private readonly HttpContext _httpContext;
    private readonly ServerMethodHandler<TRequest, TResponse> _handler;
    private CancellationToken _cancellationToken;
    private bool _hasCancellationToken;
    private AbortState? _abort;
    private DateTime _deadline = DateTime.MaxValue;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private Dictionary<object, object>? _userState;
    private Status _status = Status.DefaultSuccess;
    private bool _compressResponses;
    private bool _messageWritten;
    private bool _headersSent;
    private bool _completed;
    private bool _readCompleted;
    private int _writeInProgress;
    private int _readInProgress;
    private TRequest? _current;

    public ServerCall(HttpContext httpContext, ServerMethodHandler<TRequest, TResponse> handler)
    {
        _httpContext = httpContext;
        _handler = handler;
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

    public override CancellationToken CancellationToken
    {
        get
        {
            // Read from Kestrel (a lock, and a token source to create) only when someone asks: most unary
            // handlers never do. Kept once read, so that it stays this call's token.
            if (!_hasCancellationToken)
            {
                _cancellationToken = _httpContext.RequestAborted;
                _hasCancellationToken = true;
            }

            return _cancellationToken;
        }
    }

    public override Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    public override Status Status
    {
        get => _status;
        set => _status = value;
    }

    public override IDictionary<object, object> UserState => _userState ??= [];

    public TRequest Current => _current ?? throw new InvalidOperationException("No message has been read yet.");

    private GrpcServerRuntime Runtime => _handler.Runtime;

    private Status? AbortStatus => _abort?.Status;

    public Task RunAsync()
    {
        var type = _handler.Method.Type;
        var streaming = type != MethodType.Unary;
        var request = _httpContext.Request;
        var response = _httpContext.Response;
        var runtime = Runtime;
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
                ServerLog.InvalidTimeoutIgnored(runtime.Logger, timeoutValue.ToString(), Method);
            }
        }

        if (runtime.CompressResponses && ServerProtocol.AcceptsGzip(request.Headers[GrpcProtocol.AcceptEncodingHeader]))
        {
            _compressResponses = true;
            response.Headers[GrpcProtocol.EncodingHeader] = ServerProtocol.GzipValue;
        }

        if (!streaming && timeout is null)
        {
            return RunUnary();
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

        _abort = new AbortState(this, timeout, streaming);
        return RunAbortableAsync(type);
    }

    /// <summary>
    /// The hot path: a unary call that nothing but the client can end early. Synchronous while the request is
    /// already buffered and the handler completes synchronously; otherwise it continues in
    /// <see cref="RunUnaryAsync"/>.
    /// </summary>
    private Task RunUnary()
    {
        TRequest request;
        Task<TResponse> handlerTask;
        try
        {
            if (!TryReadBufferedSingleMessage(out var buffered))
            {
                return RunUnaryAsync(ReadSingleMessageAsync(), null);
            }

            request = buffered!;
            handlerTask = ((UnaryServerMethod<TRequest, TResponse>)_handler.Invoker!)(request, this)
                ?? throw new InvalidOperationException("The handler returned a null task.");
        }
        catch (Exception ex)
        {
            CompleteWithError(ex);
            return Task.CompletedTask;
        }

        if (!handlerTask.IsCompletedSuccessfully)
        {
            return RunUnaryAsync(default, handlerTask);
        }

        try
        {
            WriteSingleResponse(handlerTask.Result);
        }
        catch (Exception ex)
        {
            CompleteWithError(ex);
            return Task.CompletedTask;
        }

        Complete(_status, null);
        return Task.CompletedTask;
    }

    /// <summary>The rest of <see cref="RunUnary"/> once something did not complete synchronously.</summary>
    private async Task RunUnaryAsync(ValueTask<TRequest> requestTask, Task<TResponse>? handlerTask)
    {
        try
        {
            if (handlerTask is null)
            {
                var request = await requestTask;
                handlerTask = ((UnaryServerMethod<TRequest, TResponse>)_handler.Invoker!)(request, this);
            }

            WriteSingleResponse(await handlerTask);
        }
        catch (Exception ex)
        {
            CompleteWithError(ex);
            return;
        }

        Complete(_status, null);
    }

    private void CompleteWithError(Exception error)
    {
        var (status, trailers) = StatusFromException(error);
        Complete(status, trailers);
    }

    private async Task RunAbortableAsync(MethodType type)
    {
        var abort = _abort!;
        try
        {
            var handlerTask = InvokeHandlerAsync(type);
            await Task.WhenAny(abort.Aborted.Task, handlerTask);
            if (!handlerTask.IsCompleted)
            {
                await CompleteAsync(abort.Status!.Value, null, endResponse: true);
                await ObserveAbandonedHandlerAsync(handlerTask);
                return;
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
            abort.Dispose();
        }
    }

    private void CancelQuietly()
    {
        try
        {
            _abort?.Cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call already ended.
        }
    }

    private void Abort(Status status)
    {
        var abort = _abort!;
        lock (abort)
        {
            if (abort.Finished || abort.Status is not null)
            {
                return;
            }

            abort.Status = status;
            abort.Aborted.TrySetResult();
            CancelQuietly();

            // A handler waiting for a request message that will never come must wake up. The client may already have
            // reset the stream, and this runs on a timer thread where an escaping exception ends the process.
            try
            {
                _httpContext.Request.BodyReader.CancelPendingRead();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
                // Nothing left to wake.
            }
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
            ServerLog.AbandonedHandlerEnded(Runtime.Logger, ex, Method);
        }
        catch (Exception ex)
        {
            ServerLog.HandlerError(Runtime.Logger, ex, Method);
        }
    }

    private (Status Status, Metadata? Trailers) StatusFromException(Exception error)
    {
        if (error is RpcException rpc)
        {
            if (rpc.StatusCode is StatusCode.Unknown or StatusCode.Internal)
            {
                ServerLog.ErrorStatus(Runtime.Logger, rpc, Method, rpc.StatusCode);
            }

            return (rpc.Status, rpc.Trailers);
        }

        if (AbortStatus is { } abort)
        {
            return (abort, null);
        }

        if (error is OperationCanceledException && _httpContext.RequestAborted.IsCancellationRequested)
        {
            return (new Status(StatusCode.Cancelled, "Call canceled by the client."), null);
        }

        ServerLog.HandlerError(Runtime.Logger, error, Method);
        var detail = Runtime.Options.EnableDetailedErrors
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

    /// <summary>Writes the one response message of a call that cannot be aborted: nothing else writes concurrently.</summary>
    private void WriteSingleResponse(TResponse response)
    {
        if (response is null)
        {
            throw new InvalidOperationException("The handler returned a null response message.");
        }

        // Kestrel flushes when the request delegate returns.
        WriteMessage(response);
    }

    private async Task WriteSingleResponseAsync(TResponse response)
    {
        if (response is null)
        {
            throw new InvalidOperationException("The handler returned a null response message.");
        }

        var writeLock = _abort?.WriteLock;
        if (writeLock is null)
        {
            WriteMessage(response);
            return;
        }

        await writeLock.WaitAsync();
        try
        {
            if (!_completed)
            {
                WriteMessage(response);
            }
        }
        finally
        {
            writeLock.Release();
        }
    }

    private async Task CompleteAsync(Status status, Metadata? trailers, bool endResponse)
    {
        var writeLock = _abort?.WriteLock;
        if (writeLock is not null)
        {
            await writeLock.WaitAsync();
        }

        try
        {
            if (!Complete(status, trailers) || !endResponse)
            {
                return;
            }

            try
            {
                await _httpContext.Response.CompleteAsync();
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
            {
                ServerLog.CompleteFailed(Runtime.Logger, ex, Method);
            }
        }
        finally
        {
            writeLock?.Release();
        }
    }

    /// <summary>Sets the final status, once; the caller holds the write lock when the call has one.</summary>
    /// <returns>Whether this call set it (<see langword="false"/> when the call was already complete).</returns>
    private bool Complete(in Status status, Metadata? trailers)
    {
        if (_completed)
        {
            return false;
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
            var trailersFeature = _httpContext.Features.Get<IHttpResponseTrailersFeature>()
                ?? throw new InvalidOperationException("The transport does not support trailers; gRPC needs HTTP/2.");
            ServerProtocol.WriteStatus(trailersFeature.Trailers, status, _responseTrailers, trailers);
        }

        return true;
    }

    private void WriteMessage(TResponse message)
    {
        var marshaller = _handler.Method.ResponseMarshaller;
        var size = marshaller.CalculateSize(message);
        if (size > Runtime.MaxSendMessageSize)
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"Sending message larger than max ({size} vs. {Runtime.MaxSendMessageSize})."));
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
            var writeLock = _abort?.WriteLock ?? throw new InvalidOperationException("This call has no response stream.");
            await writeLock.WaitAsync(cancellationToken);
            try
            {
                if (_completed)
                {
                    throw new InvalidOperationException("Can't write the message because the call is complete.");
                }

                WriteMessage(message);
                var result = await _httpContext.Response.BodyWriter.FlushAsync(CancellationToken);
                if (result.IsCanceled)
                {
                    throw new OperationCanceledException(CancellationToken);
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
        var writeLock = _abort?.WriteLock;
        if (writeLock is not null)
        {
            await writeLock.WaitAsync();
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
            await _httpContext.Response.BodyWriter.FlushAsync(CancellationToken);
        }
        finally
        {
            writeLock?.Release();
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

    /// <summary>
    /// Reads the one request message of a unary call without awaiting when the whole request body is already
    /// buffered (usual: the client sends HEADERS and a DATA frame with END_STREAM together).
    /// </summary>
    /// <returns><see langword="false"/> when the body is not complete yet: nothing was consumed, read it with <see cref="ReadSingleMessageAsync"/>.</returns>
    private bool TryReadBufferedSingleMessage(out TRequest? message)
    {
        message = null;
        var reader = _httpContext.Request.BodyReader;
        if (!reader.TryRead(out var result))
        {
            return false;
        }

        if (!result.IsCompleted || result.IsCanceled)
        {
            reader.AdvanceTo(result.Buffer.Start);
            return false;
        }

        var buffer = result.Buffer;
        bool read;
        try
        {
            read = TryReadMessage(ref buffer, out message);
        }
        catch
        {
            reader.AdvanceTo(result.Buffer.End);
            throw;
        }

        reader.AdvanceTo(result.Buffer.End);
        if (!read)
        {
            throw new RpcException(result.Buffer.IsEmpty
                ? new Status(StatusCode.Internal, "Incomplete message: the request has no message.")
                : new Status(StatusCode.Internal, "Incomplete message."));
        }

        if (!buffer.IsEmpty)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Additional data after the message received."));
        }

        _readCompleted = true;
        return true;
    }

    // Pooled builders: these awaits usually go asynchronous (DATA after HEADERS) and run once per call.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TRequest> ReadSingleMessageAsync()
    {
        var message = await ReadMessageAsync(CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.Internal, "Incomplete message: the request has no message."));

        // A unary request carries exactly one message: anything after it is a protocol error.
        var reader = _httpContext.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(CancellationToken);
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
            catch (OperationCanceledException) when (AbortStatus is { } abort)
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
            throw new RpcException(AbortStatus ?? Status.DefaultCancelled);
        }
    }

    private bool TryReadMessage(ref ReadOnlySequence<byte> buffer, out TRequest? message)
    {
        message = null;
        if (buffer.Length < GrpcProtocol.FrameHeaderLength)
        {
            return false;
        }

        scoped ReadOnlySpan<byte> first = buffer.FirstSpan;
        Span<byte> copied = stackalloc byte[GrpcProtocol.FrameHeaderLength];
        if (first.Length < GrpcProtocol.FrameHeaderLength)
        {
            // The header straddles buffer segments.
            buffer.Slice(0, GrpcProtocol.FrameHeaderLength).CopyTo(copied);
            first = copied;
        }

        var (flag, length) = GrpcProtocol.ReadFrameHeader(first);
        if (length > (uint)Runtime.MaxReceiveMessageSize)
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"Received message larger than max ({length} vs. {Runtime.MaxReceiveMessageSize})."));
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

        var bytes = ServerProtocol.Decompress(payload, Runtime.MaxDecompressedMessageSize, out var length);
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

    /// <summary>
    /// What a call that can be aborted needs: its own cancellation, the abort signal and status, the write lock,
    /// the deadline timer and the registrations on the client's and the server's cancellation. Created only
    /// for streaming calls and calls with a deadline.
    /// </summary>
    private sealed class AbortState
    {
        private readonly ITimer? _deadlineTimer;
        private readonly CancellationTokenRegistration _requestAbortedRegistration;
        private readonly CancellationTokenRegistration _stoppingRegistration;

        public AbortState(ServerCall<TRequest, TResponse> call, TimeSpan? timeout, bool streaming)
        {
            call._abort = this;
            call._cancellationToken = Cts.Token;
            call._hasCancellationToken = true;
            _requestAbortedRegistration = call._httpContext.RequestAborted.UnsafeRegister(
                static state => ((ServerCall<TRequest, TResponse>)state!).CancelQuietly(),
                call);
            if (timeout is { } value)
            {
                var time = call.Runtime.TimeProvider;
                call._deadline = time.GetUtcNow().UtcDateTime + value;
                _deadlineTimer = time.CreateTimer(
                    static state => ((ServerCall<TRequest, TResponse>)state!).Abort(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded")),
                    call,
                    value,
                    Timeout.InfiniteTimeSpan);
            }

            if (streaming)
            {
                _stoppingRegistration = call.Runtime.Stopping.UnsafeRegister(
                    static state => ((ServerCall<TRequest, TResponse>)state!).Abort(new Status(StatusCode.Unavailable, "Server shutting down.")),
                    call);
            }
        }

        public CancellationTokenSource Cts { get; } = new();

        public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SemaphoreSlim WriteLock { get; } = new(1, 1);

        /// <summary>Why the call was aborted; set once, under this object's lock.</summary>
        public Status? Status { get; set; }

        /// <summary>Whether the call ended: late timer or shutdown callbacks must then leave the HttpContext alone.</summary>
        public bool Finished { get; private set; }

        public void Dispose()
        {
            // After this, a late timer or shutdown callback must not touch the HttpContext: Kestrel reuses it.
            lock (this)
            {
                Finished = true;
            }

            _deadlineTimer?.Dispose();
            _requestAbortedRegistration.Dispose();
            _stoppingRegistration.Dispose();
            Cts.Dispose();
        }
    }
}

/// <summary>Gives access to the HTTP context behind a call context.</summary>
internal interface IHttpContextServerCallContext
{
    HttpContext HttpContext { get; }
}
