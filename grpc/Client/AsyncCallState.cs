namespace Vehicles.Grpc;

/// <summary>
/// The parts every call object shares: response headers, status, trailers and disposal, either as
/// closures or as static delegates over one state object (no closure allocation per call).
/// </summary>
internal readonly struct AsyncCallState
{
    private readonly Func<object, Task<Metadata>>? _responseHeadersAsync;
    private readonly Func<object, Status>? _getStatus;
    private readonly Func<object, Metadata>? _getTrailers;
    private readonly Action<object>? _dispose;
    private readonly object? _state;

    public AsyncCallState(
        Func<object, Task<Metadata>> responseHeadersAsync,
        Func<object, Status> getStatus,
        Func<object, Metadata> getTrailers,
        Action<object> dispose,
        object state)
    {
        ArgumentNullException.ThrowIfNull(responseHeadersAsync);
        ArgumentNullException.ThrowIfNull(getStatus);
        ArgumentNullException.ThrowIfNull(getTrailers);
        ArgumentNullException.ThrowIfNull(dispose);
        ArgumentNullException.ThrowIfNull(state);
        _responseHeadersAsync = responseHeadersAsync;
        _getStatus = getStatus;
        _getTrailers = getTrailers;
        _dispose = dispose;
        _state = state;
    }

    public AsyncCallState(Task<Metadata> responseHeadersAsync, Func<Status> getStatus, Func<Metadata> getTrailers, Action dispose)
        : this(
            _ => responseHeadersAsync,
            _ => getStatus(),
            _ => getTrailers(),
            _ => dispose(),
            responseHeadersAsync)
    {
        ArgumentNullException.ThrowIfNull(responseHeadersAsync);
        ArgumentNullException.ThrowIfNull(getStatus);
        ArgumentNullException.ThrowIfNull(getTrailers);
        ArgumentNullException.ThrowIfNull(dispose);
    }

    public Task<Metadata> ResponseHeadersAsync() => _responseHeadersAsync!(_state!);

    public Status GetStatus() => _getStatus!(_state!);

    public Metadata GetTrailers() => _getTrailers!(_state!);

    public void Dispose() => _dispose!(_state!);
}
