using Microsoft.Extensions.Logging;

namespace Vehicles.Grains;

/// <summary>Log messages of the grains, generated so that a disabled level costs nothing.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "{Vin} opened session {SessionId}")]
    public static partial void SessionOpened(ILogger logger, string vin, string sessionId);

    [LoggerMessage(2, LogLevel.Information, "{Vin} closed session {SessionId}")]
    public static partial void SessionClosed(ILogger logger, string vin, string sessionId);

    [LoggerMessage(3, LogLevel.Information, "{Vin} session {SessionId} timed out")]
    public static partial void SessionTimedOut(ILogger logger, string vin, string sessionId);
}
