namespace Vehicles.Grpc.Server;

/// <summary>Options of the gRPC server, set with <c>services.AddGrpc(o => ...)</c>.</summary>
public sealed class GrpcServiceOptions
{
    /// <summary>The largest request message accepted, in bytes (4 MB by default); <see langword="null"/> for no limit.</summary>
    public int? MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest response message sent, in bytes; <see langword="null"/> (the default) for no limit.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// The largest size a compressed request message may inflate to; <see langword="null"/> (the default)
    /// uses <see cref="MaxReceiveMessageSize"/>. Guards against compression bombs.
    /// </summary>
    public int? MaxDecompressedMessageSize { get; set; }

    /// <summary>
    /// The compression of response messages: <see langword="null"/> (none) or <c>"gzip"</c>. Applied only
    /// when the client's <c>grpc-accept-encoding</c> lists it.
    /// </summary>
    public string? ResponseCompressionAlgorithm { get; set; }

    /// <summary>Whether the status message of a handler exception carries the exception's type and message.</summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>Server interceptors, outermost first. Instances come from DI when registered, otherwise are created once.</summary>
    public InterceptorCollection Interceptors { get; } = new();
}

/// <summary>An ordered list of interceptor types.</summary>
public sealed class InterceptorCollection : List<Type>
{
    /// <summary>Adds an interceptor type at the end of the pipeline.</summary>
    public void Add<TInterceptor>() where TInterceptor : Interceptor => Add(typeof(TInterceptor));
}

/// <summary>
/// When registered, decides when streaming calls end with UNAVAILABLE "Server shutting down." instead of
/// <c>IHostApplicationLifetime.ApplicationStopping</c>: a host that must keep its streams up while it hands work over (a
/// silo leaving a cluster) cancels <see cref="Stopping"/> once it is done. Unary calls are never cut short.
/// </summary>
public interface IGrpcServerStoppingSignal
{
    /// <summary>Cancelled when open streams should end.</summary>
    CancellationToken Stopping { get; }
}
