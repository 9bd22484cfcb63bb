namespace Vehicles.Grpc;

/// <summary>The outcome of a call: a status code and a human-readable detail message.</summary>
public readonly record struct Status(StatusCode StatusCode, string Detail)
{
    /// <summary>The successful status.</summary>
    public static readonly Status DefaultSuccess = new(StatusCode.OK, string.Empty);

    /// <summary>The status of a call cancelled by its caller.</summary>
    public static readonly Status DefaultCancelled = new(StatusCode.Cancelled, string.Empty);

    /// <summary>The underlying exception on the client side, when the status was produced locally.</summary>
    public Exception? DebugException { get; init; }

    /// <inheritdoc />
    public override string ToString() => DebugException is null
        ? $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")"
        : $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\", DebugException=\"{DebugException.GetType()}: {DebugException.Message}\")";
}
