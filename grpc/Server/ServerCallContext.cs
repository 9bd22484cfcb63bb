namespace Vehicles.Grpc;

/// <summary>
/// The server side of one call, handed to every handler: who called, with which headers and deadline,
/// the call's cancellation, and the status and trailers the call will end with. Shaped like
/// <c>Grpc.Core.ServerCallContext</c>.
/// </summary>
public abstract class ServerCallContext
{
    /// <summary>The full method name, such as <c>/grpc.health.v1.Health/Check</c>.</summary>
    public abstract string Method { get; }

    /// <summary>The host the client called (the <c>:authority</c> pseudo-header).</summary>
    public abstract string Host { get; }

    /// <summary>The client's address, such as <c>ipv4:127.0.0.1:51234</c>.</summary>
    public abstract string Peer { get; }

    /// <summary>The call's deadline (UTC), or <see cref="DateTime.MaxValue"/> when the client set none.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>The request metadata: the call's headers without HTTP/2 and gRPC reserved ones; <c>-bin</c> values decoded.</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Fires when the client cancels, the deadline passes, or (streaming calls) the server shuts down.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Trailers sent with the status at the end of the call.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>The status the call ends with when the handler returns normally.</summary>
    public abstract Status Status { get; set; }

    /// <summary>State that interceptors and handlers can share for the duration of the call.</summary>
    public abstract IDictionary<object, object> UserState { get; }

    /// <summary>Sends the response headers now, with the given metadata. At most once, before the first message.</summary>
    /// <exception cref="InvalidOperationException">The headers were already sent.</exception>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);
}
