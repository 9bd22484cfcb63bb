namespace Vehicles.Grpc;

/// <summary>The invoker of a <see cref="GrpcChannel"/>: every call is an HTTP/2 request on the channel's client.</summary>
internal sealed class HttpClientCallInvoker(GrpcChannel channel) : CallInvoker
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = CreateCall(method, MethodType.Unary, options);
        call.Start(request);
        return new AsyncUnaryCall<TResponse>(
            call.GetResponseAsync(),
            CallAccess<TRequest, TResponse>.ResponseHeaders,
            CallAccess<TRequest, TResponse>.Status,
            CallAccess<TRequest, TResponse>.Trailers,
            CallAccess<TRequest, TResponse>.Dispose,
            call);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = CreateCall(method, MethodType.ServerStreaming, options);
        call.Start(request);
        return new AsyncServerStreamingCall<TResponse>(
            call,
            CallAccess<TRequest, TResponse>.ResponseHeaders,
            CallAccess<TRequest, TResponse>.Status,
            CallAccess<TRequest, TResponse>.Trailers,
            CallAccess<TRequest, TResponse>.Dispose,
            call);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = CreateCall(method, MethodType.ClientStreaming, options);
        call.StartStreaming();
        return new AsyncClientStreamingCall<TRequest, TResponse>(
            call,
            call.GetResponseAsync(),
            CallAccess<TRequest, TResponse>.ResponseHeaders,
            CallAccess<TRequest, TResponse>.Status,
            CallAccess<TRequest, TResponse>.Trailers,
            CallAccess<TRequest, TResponse>.Dispose,
            call);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = CreateCall(method, MethodType.DuplexStreaming, options);
        call.StartStreaming();
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(
            call,
            call,
            CallAccess<TRequest, TResponse>.ResponseHeaders,
            CallAccess<TRequest, TResponse>.Status,
            CallAccess<TRequest, TResponse>.Trailers,
            CallAccess<TRequest, TResponse>.Dispose,
            call);
    }

    private GrpcCall<TRequest, TResponse> CreateCall<TRequest, TResponse>(Method<TRequest, TResponse> method, MethodType type, CallOptions options)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Type != type)
        {
            throw new ArgumentException($"Method '{method.FullName}' is {method.Type}, not {type}.", nameof(method));
        }

        ObjectDisposedException.ThrowIf(channel.IsDisposed, channel);
        return new GrpcCall<TRequest, TResponse>(channel, method, options);
    }

    /// <summary>One set of delegates per message-type pair, so that a call object costs no closures.</summary>
    private static class CallAccess<TRequest, TResponse>
        where TRequest : class
        where TResponse : class
    {
        public static readonly Func<object, Task<Metadata>> ResponseHeaders = static call => ((GrpcCall<TRequest, TResponse>)call).GetResponseHeadersAsync();
        public static readonly Func<object, Status> Status = static call => ((GrpcCall<TRequest, TResponse>)call).GetStatus();
        public static readonly Func<object, Metadata> Trailers = static call => ((GrpcCall<TRequest, TResponse>)call).GetTrailers();
        public static readonly Action<object> Dispose = static call => ((GrpcCall<TRequest, TResponse>)call).Dispose();
    }
}
