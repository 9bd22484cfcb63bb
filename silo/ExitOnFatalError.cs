using System.Runtime.InteropServices;

namespace Vehicles.Silo;

/// <summary>
/// Replaces Orleans' fatal-error handler (which calls <see cref="Environment.FailFast(string)"/> and leaves a crash
/// dump and an abort signal behind): a silo the cluster declared dead, or one that hit an error it cannot survive,
/// says so in one clear line and exits with code <see cref="ExitCode"/>, so a supervisor starts a new process, which
/// joins as a new silo generation. It never goes back to serving: the process ends without running shutdown code
/// that could still reach storage or other silos.
/// </summary>
internal sealed partial class ExitOnFatalError(ILogger<ExitOnFatalError> logger) : IFatalErrorHandler
{
    /// <summary>The process exit code after a fatal error.</summary>
    public const int ExitCode = 3;

    /// <inheritdoc />
    public bool IsUnexpected(Exception exception) => exception is not ThreadInterruptedException;

    /// <inheritdoc />
    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
    {
        var line = $"FATAL: this silo is stopping with exit code {ExitCode}: {context ?? "fatal error"} (from {sender?.GetType().Name ?? "unknown"}){(exception is null ? "" : ": " + exception.Message)}";
        LogFatal(logger, exception, line);
        Console.Error.WriteLine(line);
        Console.Error.Flush();
        Console.Out.Flush();
        if (OperatingSystem.IsWindows())
        {
            Environment.FailFast(line, exception);
        }

        // Give the console logger's queue a moment to drain, then leave at once.
        Thread.Sleep(TimeSpan.FromMilliseconds(200));
        Exit(ExitCode);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void Exit(int status);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Line}")]
    private static partial void LogFatal(ILogger logger, Exception? exception, string line);
}
