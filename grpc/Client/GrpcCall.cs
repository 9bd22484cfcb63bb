using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Vehicles.Grpc;

/// <summary>
/// One client call over HTTP/2: sends the request, reads response frames and the final status, and ends the
/// call exactly once (<see cref="Finish"/>) whichever comes first of the server's status, a transport error,
/// the deadline, cancellation or disposal. A call that ends with an error aborts its HTTP/2 stream
/// (RST_STREAM), which cancels the server's handler.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IAsyncStreamReader<TResponse>, IClientStreamWriter<TRequest>, IDisposable
    where TRequest : class
    where TResponse : class
{
    private static readonly Action<object?> _onCancelled = static state => ((GrpcCall<TRequest, TResponse>)state!).Cancel(deadline: false);
    private static readonly Action<object?> _onChannelDisposed = static state =>
        ((GrpcCall<TRequest, TResponse>)state!).Finish(new Status(StatusCode.Cancelled, "The channel was disposed."), trailers: null);

    private static readonly TimerCallback _onDeadline = static state => ((GrpcCall<TRequest, TResponse>)state!).OnDeadline();

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cts = new();
    private readonly Lock _lock = new();
    private CancellationTokenRegistration _cancellationRegistration;
    private CancellationTokenRegistration _channelRegistration;
    private ITimer? _deadlineTimer;
    private DateTime _deadline = DateTime.MaxValue;
    private StreamingRequestContent? _requestContent;
    private Task<bool> _sendTask = Task.FromResult(false);
    private Task<Metadata>? _responseHeadersTask;
    private HttpResponseMessage? _response;
    private Stream? _responseStream;
    private string? _responseEncoding;
    private Metadata? _responseHeaders;
    private Status? _trailersOnlyStatus;
    private volatile Outcome? _outcome;
    private byte[]? _frameHeader;
    private TResponse? _current;
    private int _readInProgress;
    private int _writeInProgress;
    private bool _requestCompleted;

    public GrpcCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
    }

    /// <inheritdoc />
    public TResponse Current => _current ?? throw new InvalidOperationException("No message has been read: call MoveNext first.");

    /// <summary>Starts a call with one request message (unary, server streaming).</summary>
    public void Start(TRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequestFrame frame;
        try
        {
            frame = GrpcClientProtocol.WriteFrame(_method.RequestMarshaller, request, _channel.MaxSendMessageSize, _channel.SendCompression, pooled: false);
        }
        catch (Exception exception)
        {
            Finish(GrpcClientProtocol.FromException("Error serializing the request.", exception), trailers: null);
            return;
        }

        StartCore(new UnaryRequestContent(frame.Buffer, frame.Length));
    }

    /// <summary>Starts a call with a request stream (client streaming, duplex).</summary>
    public void StartStreaming()
    {
        _requestContent = new StreamingRequestContent();
        StartCore(_requestContent);
    }

    private void StartCore(HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _channel.GetMethodUri(_method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.UserAgent.Add(GrpcChannel.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcClientProtocol.AcceptEncodingValue);
        if (_channel.SendCompression is { } compression)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, compression);
        }

        if (_options.Headers is { Count: > 0 } metadata)
        {
            try
            {
                GrpcClientProtocol.AddHeaders(headers, metadata);
            }
            catch (RpcException exception)
            {
                Finish(exception.Status, trailers: null);
                return;
            }
        }

        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            _deadline = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
            var timeout = _deadline - _channel.TimeProvider.GetUtcNow().UtcDateTime;
            if (timeout <= TimeSpan.Zero)
            {
                Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), trailers: null);
                return;
            }

            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcProtocol.FormatTimeout(timeout));
            _deadlineTimer = _channel.TimeProvider.CreateTimer(_onDeadline, this, ClampTimerDue(timeout), Timeout.InfiniteTimeSpan);
        }

        if (_options.CancellationToken.CanBeCanceled)
        {
            // Runs the callback at once when the token is already cancelled.
            _cancellationRegistration = _options.CancellationToken.UnsafeRegister(_onCancelled, this);
        }

        _channelRegistration = _channel.Disposing.UnsafeRegister(_onChannelDisposed, this);
        if (_outcome is not null)
        {
            // Ended while starting (token already cancelled, channel disposed): Finish may have run before the
            // registrations above existed, and a forgotten channel registration would keep this call alive.
            ReleaseResources();
            return;
        }

        _sendTask = SendAsync(request);
    }

    private async Task<bool> SendAsync(HttpRequestMessage request)
    {
        try
        {
            if (_channel.Credentials is { } credentials)
            {
                await ApplyCredentialsAsync(credentials, request);
            }

            var response = await _channel.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _cts.Token);
            lock (_lock)
            {
                if (_outcome is not null)
                {
                    response.Dispose();
                    return false;
                }

                _response = response;
            }

            if (GrpcClientProtocol.TryGetStatus(response.Headers, out var trailersOnlyStatus))
            {
                // Trailers-only: no messages follow; the readers end the call with this status.
                _trailersOnlyStatus = trailersOnlyStatus;
                _responseHeaders = GrpcClientProtocol.ToMetadata(response.Headers);
                return false;
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                Finish(
                    new Status(GrpcClientProtocol.FromHttpStatus(response.StatusCode), $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}."),
                    trailers: null);
                return false;
            }

            var contentType = GrpcClientProtocol.GetHeader(response.Content.Headers, "Content-Type");
            if (!GrpcProtocol.IsGrpcContentType(contentType))
            {
                Finish(new Status(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: '{contentType}'."), trailers: null);
                return false;
            }

            _responseEncoding = GrpcClientProtocol.GetHeader(response.Headers, GrpcProtocol.EncodingHeader);
            _responseStream = await response.Content.ReadAsStreamAsync(_cts.Token);
            return true;
        }
        catch (Exception exception)
        {
            Finish(GrpcClientProtocol.FromException("Error starting gRPC call.", exception), trailers: null);
            return false;
        }
    }

    private async Task ApplyCredentialsAsync(CallCredentials credentials, HttpRequestMessage request)
    {
        var metadata = new Metadata();
        var serviceUrl = _channel.Address.GetLeftPart(UriPartial.Authority) + "/" + _method.ServiceName;
        try
        {
            await credentials.ApplyAsync(new AuthInterceptorContext(serviceUrl, _method.Name, _cts.Token), metadata);
        }
        catch (Exception exception) when (exception is not RpcException && !_cts.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "Getting metadata from call credentials failed: " + exception.Message)
            {
                DebugException = exception,
            });
        }

        GrpcClientProtocol.AddHeaders(request.Headers, metadata);
    }

    /// <summary>The response of a unary or client-streaming call.</summary>
    public async Task<TResponse> GetResponseAsync()
    {
        try
        {
            if (!await _sendTask)
            {
                EndWithoutMessages(requireMessage: true);
                throw CreateException(FinalStatus);
            }

            if (!await ReadMessageAsync(_cts.Token))
            {
                var (status, trailers) = ReadTrailers();
                if (status.StatusCode == StatusCode.OK)
                {
                    status = new Status(StatusCode.Internal, "Failed to deserialize response message: the server sent no message.");
                }

                Finish(status, trailers);
                throw CreateException(FinalStatus);
            }

            var response = _current!;
            if (await ReadMessageAsync(_cts.Token))
            {
                throw new RpcException(new Status(StatusCode.Internal, "The server sent more than one message on a call with one response."));
            }

            var (finalStatus, finalTrailers) = ReadTrailers();
            Finish(finalStatus, finalTrailers);
            return FinalStatus.StatusCode == StatusCode.OK ? response : throw CreateException(FinalStatus);
        }
        catch (Exception exception)
        {
            throw Fail(exception, "Error reading the response.");
        }
    }

    /// <inheritdoc />
    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (_outcome?.Status is { } finished)
        {
            return finished.StatusCode == StatusCode.OK ? false : throw CreateException(finished);
        }

        if (Interlocked.Exchange(ref _readInProgress, 1) != 0)
        {
            throw new InvalidOperationException("Can't read the next message because the previous read is still in progress.");
        }

        var registration = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(_onCancelled, this) : default;
        try
        {
            if (!await _sendTask)
            {
                EndWithoutMessages(requireMessage: false);
                return FinalStatus.StatusCode == StatusCode.OK ? false : throw CreateException(FinalStatus);
            }

            if (await ReadMessageAsync(_cts.Token))
            {
                return true;
            }

            var (status, trailers) = ReadTrailers();
            Finish(status, trailers);
            return FinalStatus.StatusCode == StatusCode.OK ? false : throw CreateException(FinalStatus);
        }
        catch (Exception exception)
        {
            throw Fail(exception, "Error reading the next message.");
        }
        finally
        {
            registration.Dispose();
            Volatile.Write(ref _readInProgress, 0);
        }
    }

    /// <inheritdoc />
    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfCannotWrite();
        if (Interlocked.Exchange(ref _writeInProgress, 1) != 0)
        {
            throw new InvalidOperationException("Can't write the message because the previous write is in progress.");
        }

        var registration = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(_onCancelled, this) : default;
        RequestFrame frame = default;
        try
        {
            frame = GrpcClientProtocol.WriteFrame(_method.RequestMarshaller, message, _channel.MaxSendMessageSize, _channel.SendCompression, pooled: true);
            var stream = await _requestContent!.StreamTask.WaitAsync(_cts.Token);
            await stream.WriteAsync(frame.Memory, _cts.Token);
            await stream.FlushAsync(_cts.Token);
        }
        catch (Exception exception)
        {
            if (exception is RpcException rpcException)
            {
                // A message this side refuses to send ends the call, as in grpc-dotnet.
                Finish(rpcException.Status, trailers: null);
            }

            ThrowIfCannotWrite();

            // The body can fail while the response still carries the real outcome (the server ended the call
            // early): leave the call to the reader and report this write only.
            throw new RpcException(GrpcClientProtocol.FromException("Error writing a request message.", exception));
        }
        finally
        {
            frame.Return();
            registration.Dispose();
            Volatile.Write(ref _writeInProgress, 0);
        }
    }

    /// <inheritdoc />
    public Task CompleteAsync()
    {
        if (Volatile.Read(ref _writeInProgress) != 0)
        {
            throw new InvalidOperationException("Can't complete the request stream while a write is in progress.");
        }

        if (_outcome?.Status is { StatusCode: not StatusCode.OK } status)
        {
            return Task.FromException(CreateException(status));
        }

        _requestCompleted = true;
        _requestContent?.Complete();
        return Task.CompletedTask;
    }

    public Task<Metadata> GetResponseHeadersAsync()
    {
        var task = Volatile.Read(ref _responseHeadersTask);
        if (task is null)
        {
            task = GetResponseHeadersCoreAsync();
            task = Interlocked.CompareExchange(ref _responseHeadersTask, task, null) ?? task;
        }

        return task;
    }

    private async Task<Metadata> GetResponseHeadersCoreAsync()
    {
        if (await _sendTask)
        {
            // Built on demand: most callers never look at response headers. They stay readable after the response is disposed.
            return GrpcClientProtocol.ToMetadata(_response!.Headers);
        }

        if (_trailersOnlyStatus is { StatusCode: StatusCode.OK })
        {
            return _responseHeaders!;
        }

        throw CreateException(_trailersOnlyStatus ?? FinalStatus);
    }

    public Status GetStatus() =>
        _outcome?.Status ?? throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    public Metadata GetTrailers() =>
        _outcome?.Trailers ?? throw new InvalidOperationException("Can't get the call trailers because the call is not complete.");

    /// <summary>Cancels a call still in progress; a finished call is left as it is.</summary>
    public void Dispose() => Finish(new Status(StatusCode.Cancelled, "gRPC call disposed."), trailers: null);

    private void ThrowIfCannotWrite()
    {
        if (_requestCompleted)
        {
            throw new InvalidOperationException("Request stream has already been completed.");
        }

        if (_outcome?.Status is { } status)
        {
            throw status.StatusCode == StatusCode.OK
                ? new InvalidOperationException("Can't write the message because the call is complete.")
                : CreateException(status);
        }
    }

    /// <summary>Ends a call that had no response body: trailers-only, or it failed to start.</summary>
    private void EndWithoutMessages(bool requireMessage)
    {
        if (_trailersOnlyStatus is { } status)
        {
            if (requireMessage && status.StatusCode == StatusCode.OK)
            {
                status = new Status(StatusCode.Internal, "Failed to deserialize response message: the server sent no message.");
            }

            Finish(status, _responseHeaders);
        }
    }

    // Pooled builder and hand-written read loops: a streaming call reads every message here, and this keeps the
    // per-message cost to the message itself (Stream.ReadAtLeastAsync/ReadExactlyAsync allocate a state machine each).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadMessageAsync(CancellationToken cancellationToken)
    {
        var stream = _responseStream!;
        var header = _frameHeader ??= new byte[GrpcProtocol.FrameHeaderLength];
        var read = 0;
        while (read < header.Length)
        {
            var count = await stream.ReadAsync(header.AsMemory(read), cancellationToken);
            if (count == 0)
            {
                break;
            }

            read += count;
        }

        if (read == 0)
        {
            return false;
        }

        if (read < header.Length)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Incomplete message: the response ended inside a frame header."));
        }

        var (flag, declaredLength) = GrpcProtocol.ReadFrameHeader(header);
        if (flag > 1)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"Invalid compressed flag {flag} in a response frame."));
        }

        var maxSize = _channel.MaxReceiveMessageSize ?? Array.MaxLength;
        if (declaredLength > (uint)maxSize)
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"Received message exceeds the maximum configured message size: {declaredLength} > {maxSize} bytes."));
        }

        var length = (int)declaredLength;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            for (var offset = 0; offset < length;)
            {
                var count = await stream.ReadAsync(buffer.AsMemory(offset, length - offset), cancellationToken);
                if (count == 0)
                {
                    throw new RpcException(new Status(StatusCode.Internal, "Incomplete message: the response ended inside a message."));
                }

                offset += count;
            }

            if (flag == 1)
            {
                var (decompressed, decompressedLength) = Decompress(buffer, length, maxSize);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = decompressed;
                length = decompressedLength;
            }

            try
            {
                _current = _method.ResponseMarshaller.Parse(new ReadOnlySequence<byte>(buffer, 0, length));
            }
            catch (Exception exception)
            {
                throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize response message.") { DebugException = exception });
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private (byte[] Buffer, int Length) Decompress(byte[] buffer, int length, int maxSize)
    {
        if (_responseEncoding is null || string.Equals(_responseEncoding, GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(StatusCode.Internal, "A compressed message arrived without a grpc-encoding response header."));
        }

        if (!string.Equals(_responseEncoding, GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(
                StatusCode.Unimplemented,
                $"Unsupported grpc-encoding value '{_responseEncoding}'. Supported encodings: identity, gzip."));
        }

        return GrpcClientProtocol.Gunzip(buffer, length, maxSize);
    }

    private (Status Status, Metadata Trailers) ReadTrailers()
    {
        var trailingHeaders = _response!.TrailingHeaders;
        var trailers = GrpcClientProtocol.ToMetadata(trailingHeaders);
        return GrpcClientProtocol.TryGetStatus(trailingHeaders, out var status)
            ? (status, trailers)
            : (new Status(StatusCode.Unknown, "No grpc-status found on response."), trailers);
    }

    /// <summary>Ends the call with the status an exception stands for, unless it already ended; returns what to throw.</summary>
    private RpcException Fail(Exception exception, string summary)
    {
        Finish(GrpcClientProtocol.FromException(summary, exception), trailers: null);
        var status = FinalStatus;
        return exception is RpcException rpcException && rpcException.Status == status ? rpcException : CreateException(status);
    }

    private RpcException CreateException(Status status) => new(status, _outcome?.Trailers ?? new Metadata());

    private void Cancel(bool deadline) =>
        Finish(deadline ? new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded") : new Status(StatusCode.Cancelled, "Call canceled by the client."), trailers: null);

    private void OnDeadline()
    {
        // Timers may fire a little early; the deadline is what the peer was told, so never end before it.
        var remaining = _deadline - _channel.TimeProvider.GetUtcNow().UtcDateTime;
        if (remaining > TimeSpan.Zero && _deadlineTimer is { } timer)
        {
            timer.Change(ClampTimerDue(remaining), Timeout.InfiniteTimeSpan);
            return;
        }

        Cancel(deadline: true);
    }

    /// <summary>Never null once the call has ended; read without tearing because the status is one reference.</summary>
    private Status FinalStatus => _outcome!.Status;

    private static TimeSpan ClampTimerDue(TimeSpan due)
    {
        var max = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
        return due > max ? max : due;
    }

    /// <summary>Records the call's final status once and releases what the call holds.</summary>
    private void Finish(Status status, Metadata? trailers)
    {
        HttpResponseMessage? response;
        lock (_lock)
        {
            if (_outcome is not null)
            {
                return;
            }

            _outcome = new Outcome(status, trailers ?? new Metadata());
            response = _response;
        }

        ReleaseResources();
        _requestContent?.Complete();
        if (status.StatusCode != StatusCode.OK)
        {
            // Aborts the HTTP/2 stream (RST_STREAM CANCEL) if it is still open: the server's handler is cancelled.
            _cts.Cancel();
            if (_channel.Logger.IsEnabled(LogLevel.Debug))
            {
                _channel.Logger.LogDebug("gRPC call {Method} ended with {StatusCode}: {Detail}", _method.FullName, status.StatusCode, status.Detail);
            }
        }

        response?.Dispose();
    }

    private void ReleaseResources()
    {
        _deadlineTimer?.Dispose();
        _cancellationRegistration.Dispose();
        _channelRegistration.Dispose();
    }

    private sealed record Outcome(Status Status, Metadata Trailers);
}
