namespace Vehicles.Grpc;

/// <summary>Continues a unary call down the interceptor chain.</summary>
public delegate AsyncUnaryCall<TResponse> AsyncUnaryCallContinuation<TRequest, TResponse>(
    TRequest request, ClientInterceptorContext<TRequest, TResponse> context)
    where TRequest : class
    where TResponse : class;

/// <summary>Continues a server-streaming call down the interceptor chain.</summary>
public delegate AsyncServerStreamingCall<TResponse> AsyncServerStreamingCallContinuation<TRequest, TResponse>(
    TRequest request, ClientInterceptorContext<TRequest, TResponse> context)
    where TRequest : class
    where TResponse : class;

/// <summary>Continues a client-streaming call down the interceptor chain.</summary>
public delegate AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCallContinuation<TRequest, TResponse>(
    ClientInterceptorContext<TRequest, TResponse> context)
    where TRequest : class
    where TResponse : class;

/// <summary>Continues a bidirectional-streaming call down the interceptor chain.</summary>
public delegate AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCallContinuation<TRequest, TResponse>(
    ClientInterceptorContext<TRequest, TResponse> context)
    where TRequest : class
    where TResponse : class;

/// <summary>What a client interceptor knows about the call it intercepts; like <c>Grpc.Core.Interceptors.ClientInterceptorContext</c>.</summary>
/// <typeparam name="TRequest">The request message type.</typeparam>
/// <typeparam name="TResponse">The response message type.</typeparam>
public readonly struct ClientInterceptorContext<TRequest, TResponse> : IEquatable<ClientInterceptorContext<TRequest, TResponse>>
    where TRequest : class
    where TResponse : class
{
    /// <summary>Creates the context.</summary>
    public ClientInterceptorContext(Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        Method = method;
        Host = host;
        Options = options;
    }

    /// <summary>The method called.</summary>
    public Method<TRequest, TResponse> Method { get; }

    /// <summary>The host given by the caller, usually <see langword="null"/>.</summary>
    public string? Host { get; }

    /// <summary>The call's options; an interceptor passes changed options (such as extra headers) to the continuation.</summary>
    public CallOptions Options { get; }

    /// <inheritdoc />
    public bool Equals(ClientInterceptorContext<TRequest, TResponse> other) =>
        ReferenceEquals(Method, other.Method) && Host == other.Host && Options == other.Options;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ClientInterceptorContext<TRequest, TResponse> other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Method, Host, Options);

    /// <summary>Whether two contexts are the same.</summary>
    public static bool operator ==(ClientInterceptorContext<TRequest, TResponse> left, ClientInterceptorContext<TRequest, TResponse> right) => left.Equals(right);

    /// <summary>Whether two contexts differ.</summary>
    public static bool operator !=(ClientInterceptorContext<TRequest, TResponse> left, ClientInterceptorContext<TRequest, TResponse> right) => !left.Equals(right);
}

/// <summary>The client side of <see cref="Interceptor"/>: each method wraps one kind of call.</summary>
public abstract partial class Interceptor
{
    /// <summary>Intercepts a unary call on the client.</summary>
    public virtual AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, context);
    }

    /// <summary>Intercepts a server-streaming call on the client.</summary>
    public virtual AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, context);
    }

    /// <summary>Intercepts a client-streaming call on the client.</summary>
    public virtual AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(context);
    }

    /// <summary>Intercepts a bidirectional-streaming call on the client.</summary>
    public virtual AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(context);
    }
}

/// <summary>Adds interceptors in front of an invoker or channel, like <c>Grpc.Core.Interceptors.CallInvokerExtensions</c>.</summary>
public static class CallInvokerExtensions
{
    /// <summary>
    /// An invoker whose calls pass through the interceptors first; the first in the list runs outermost, as
    /// in grpc-dotnet.
    /// </summary>
    public static CallInvoker Intercept(this CallInvoker invoker, params Interceptor[] interceptors)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(interceptors);
        for (var i = interceptors.Length - 1; i >= 0; i--)
        {
            invoker = new InterceptingCallInvoker(invoker, interceptors[i] ?? throw new ArgumentException("An interceptor is null.", nameof(interceptors)));
        }

        return invoker;
    }

    /// <summary>An invoker over the channel whose calls pass through the interceptors first (the first runs outermost).</summary>
    public static CallInvoker Intercept(this GrpcChannel channel, params Interceptor[] interceptors)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel.CreateCallInvoker().Intercept(interceptors);
    }

    private sealed class InterceptingCallInvoker(CallInvoker inner, Interceptor interceptor) : CallInvoker
    {
        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            interceptor.AsyncUnaryCall(
                request,
                new ClientInterceptorContext<TRequest, TResponse>(method, host, options),
                (message, context) => inner.AsyncUnaryCall(context.Method, context.Host, context.Options, message));

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            interceptor.AsyncServerStreamingCall(
                request,
                new ClientInterceptorContext<TRequest, TResponse>(method, host, options),
                (message, context) => inner.AsyncServerStreamingCall(context.Method, context.Host, context.Options, message));

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            interceptor.AsyncClientStreamingCall(
                new ClientInterceptorContext<TRequest, TResponse>(method, host, options),
                context => inner.AsyncClientStreamingCall(context.Method, context.Host, context.Options));

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            interceptor.AsyncDuplexStreamingCall(
                new ClientInterceptorContext<TRequest, TResponse>(method, host, options),
                context => inner.AsyncDuplexStreamingCall(context.Method, context.Host, context.Options));
    }
}
