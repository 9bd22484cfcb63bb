using Microsoft.Extensions.Logging;

namespace Vehicles.Grpc.Server;

/// <summary>The server's log messages, source-generated so that disabled levels cost nothing on the hot path.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Error, "Error when executing service method '{Method}'.")]
    public static partial void HandlerError(ILogger logger, Exception exception, string method);

    [LoggerMessage(2, LogLevel.Debug, "Ignoring invalid grpc-timeout '{Timeout}' on {Method}.")]
    public static partial void InvalidTimeoutIgnored(ILogger logger, string timeout, string method);

    [LoggerMessage(3, LogLevel.Debug, "Handler of {Method} ended after the call was aborted.")]
    public static partial void AbandonedHandlerEnded(ILogger logger, Exception exception, string method);

    [LoggerMessage(4, LogLevel.Debug, "{Method} ended with {StatusCode}.")]
    public static partial void ErrorStatus(ILogger logger, Exception exception, string method, StatusCode statusCode);

    [LoggerMessage(5, LogLevel.Debug, "Could not complete the response of {Method}.")]
    public static partial void CompleteFailed(ILogger logger, Exception exception, string method);
}
