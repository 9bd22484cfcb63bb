namespace Vehicles.Grpc;

/// <summary>
/// A call that ended with a status other than OK. Handlers throw it to answer with that status; clients
/// receive it when a call fails. Trailers carry the response trailers (client side) or extra trailers to
/// send (server side).
/// </summary>
public sealed class RpcException : Exception
{
    /// <summary>Creates the exception for a status.</summary>
    public RpcException(Status status)
        : this(status, new Metadata())
    {
    }

    /// <summary>Creates the exception for a status with trailers.</summary>
    public RpcException(Status status, Metadata trailers)
        : base(FormatMessage(status), status.DebugException)
    {
        Status = status;
        Trailers = trailers;
    }

    /// <summary>Creates the exception for a status code and detail message.</summary>
    public RpcException(StatusCode statusCode, string detail)
        : this(new Status(statusCode, detail))
    {
    }

    /// <summary>The status of the call.</summary>
    public Status Status { get; }

    /// <summary>The status code of the call.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailers of the call.</summary>
    public Metadata Trailers { get; }

    private static string FormatMessage(Status status) =>
        $"Status(StatusCode=\"{status.StatusCode}\", Detail=\"{status.Detail}\")";
}
