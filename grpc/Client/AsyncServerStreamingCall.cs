namespace Vehicles.Grpc;

/// <summary>A server-streaming call in progress, like <c>Grpc.Core.AsyncServerStreamingCall</c>.</summary>
/// <typeparam name="TResponse">The response message type.</typeparam>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
{
    private readonly AsyncCallState _callState;

    /// <summary>Creates the call object from its parts.</summary>
    public AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, Task<Metadata> responseHeadersAsync, Func<Status> getStatusFunc, Func<Metadata> getTrailersFunc, Action disposeAction)
    {
        ResponseStream = responseStream;
        _callState = new AsyncCallState(responseHeadersAsync, getStatusFunc, getTrailersFunc, disposeAction);
    }

    /// <summary>Creates the call object from its parts, as static delegates over one state object.</summary>
    public AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, Func<object, Task<Metadata>> responseHeadersAsync, Func<object, Status> getStatusFunc, Func<object, Metadata> getTrailersFunc, Action<object> disposeAction, object state)
    {
        ResponseStream = responseStream;
        _callState = new AsyncCallState(responseHeadersAsync, getStatusFunc, getTrailersFunc, disposeAction, state);
    }

    /// <summary>The response stream.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>
    /// The response headers; waits for them. Throws <see cref="RpcException"/> when the call failed before
    /// any arrived.
    /// </summary>
    public Task<Metadata> ResponseHeadersAsync => _callState.ResponseHeadersAsync();

    /// <summary>The status of the finished call.</summary>
    /// <exception cref="InvalidOperationException">The call has not finished.</exception>
    public Status GetStatus() => _callState.GetStatus();

    /// <summary>The trailers of the finished call.</summary>
    /// <exception cref="InvalidOperationException">The call has not finished.</exception>
    public Metadata GetTrailers() => _callState.GetTrailers();

    /// <summary>
    /// Releases the call. A call still in progress is cancelled (the server sees RST_STREAM) and ends with
    /// CANCELLED.
    /// </summary>
    public void Dispose() => _callState.Dispose();
}
