using Grpc.Core;

namespace Vehicles.LoadTest;

/// <summary>How the harness names a failed call in its reports.</summary>
internal static class CallErrors
{
    /// <summary>
    /// The name a failed call is counted under: the gRPC status code as the protocol spells it (<c>UNAVAILABLE</c>,
    /// <c>DEADLINE_EXCEEDED</c>), <c>THROTTLED</c> for a RESOURCE_EXHAUSTED throttle notice, <c>CANCELLED</c> and
    /// <c>TIMEOUT</c> for the harness giving up, else the exception's type name. Constant strings: error storms allocate nothing here.
    /// </summary>
    public static string StatusName(Exception exception) => exception switch
    {
        RpcException { StatusCode: StatusCode.ResourceExhausted } rpc when rpc.Status.Detail.StartsWith("THROTTLED", StringComparison.Ordinal) => "THROTTLED",
        RpcException rpc => rpc.StatusCode switch
        {
            StatusCode.OK => "OK",
            StatusCode.Cancelled => "CANCELLED",
            StatusCode.Unknown => "UNKNOWN",
            StatusCode.InvalidArgument => "INVALID_ARGUMENT",
            StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
            StatusCode.NotFound => "NOT_FOUND",
            StatusCode.AlreadyExists => "ALREADY_EXISTS",
            StatusCode.PermissionDenied => "PERMISSION_DENIED",
            StatusCode.Unauthenticated => "UNAUTHENTICATED",
            StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
            StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
            StatusCode.Aborted => "ABORTED",
            StatusCode.OutOfRange => "OUT_OF_RANGE",
            StatusCode.Unimplemented => "UNIMPLEMENTED",
            StatusCode.Internal => "INTERNAL",
            StatusCode.Unavailable => "UNAVAILABLE",
            StatusCode.DataLoss => "DATA_LOSS",
            _ => "UNKNOWN",
        },
        OperationCanceledException => "CANCELLED",
        TimeoutException => "TIMEOUT",
        _ => exception.GetType().Name,
    };
}
