namespace Vehicles.Grpc;

/// <summary>
/// Starts client calls, like <c>Grpc.Core.CallInvoker</c>. Typed clients call these methods with their
/// <see cref="Method{TRequest, TResponse}"/> descriptions; <see cref="GrpcChannel.CreateCallInvoker"/> gives
/// the invoker that sends them over HTTP/2.
/// </summary>
public abstract class CallInvoker
{
    /// <summary>Starts a unary call.</summary>
    /// <param name="method">The method to call.</param>
    /// <param name="host">Unused (kept for the shape of <c>Grpc.Core</c>): the channel's address decides the authority.</param>
    /// <param name="options">Headers, deadline and cancellation.</param>
    /// <param name="request">The request message.</param>
    public abstract AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        where TRequest : class
        where TResponse : class;

    /// <summary>Starts a server-streaming call.</summary>
    /// <param name="method">The method to call.</param>
    /// <param name="host">Unused (kept for the shape of <c>Grpc.Core</c>).</param>
    /// <param name="options">Headers, deadline and cancellation.</param>
    /// <param name="request">The request message.</param>
    public abstract AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        where TRequest : class
        where TResponse : class;

    /// <summary>Starts a client-streaming call.</summary>
    /// <param name="method">The method to call.</param>
    /// <param name="host">Unused (kept for the shape of <c>Grpc.Core</c>).</param>
    /// <param name="options">Headers, deadline and cancellation.</param>
    public abstract AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
        where TRequest : class
        where TResponse : class;

    /// <summary>Starts a bidirectional-streaming call.</summary>
    /// <param name="method">The method to call.</param>
    /// <param name="host">Unused (kept for the shape of <c>Grpc.Core</c>).</param>
    /// <param name="options">Headers, deadline and cancellation.</param>
    public abstract AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
        where TRequest : class
        where TResponse : class;
}
