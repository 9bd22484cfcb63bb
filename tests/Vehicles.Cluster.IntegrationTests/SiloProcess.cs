using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>Where a silo process is in its life, as the test drove it.</summary>
public enum SiloState
{
    /// <summary>Started, and not yet told to go.</summary>
    Running,

    /// <summary>Sent SIGTERM: leaving gracefully.</summary>
    Leaving,

    /// <summary>Exited after SIGTERM.</summary>
    Left,

    /// <summary>Killed with SIGKILL.</summary>
    Killed,

    /// <summary>Frozen with SIGSTOP (a stalled process, or one cut off by a partition), or resumed after that.</summary>
    Paused,
}

/// <summary>
/// One silo as a separate process (<c>dotnet Vehicles.Silo.dll</c>) on 127.0.0.1, configured through environment
/// variables, with stdout and stderr in a log file. A shell watchdog kills it should the test process die first, and
/// the finalizer kills it should the test forget to dispose it.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Process? _watchdog;
    private readonly GrpcChannel _channel;
    private readonly int _pid;
    private int _state;
    private int _disposed;

    private SiloProcess(int index, string endpoint, string logPath, Process process, Process? watchdog)
    {
        Index = index;
        Endpoint = endpoint;
        LogPath = logPath;
        _process = process;
        _pid = process.Id;
        _watchdog = watchdog;
        _channel = GrpcChannel.ForAddress("http://" + endpoint);
    }

    ~SiloProcess()
    {
        // Only the pid: other managed objects may already be finalized.
        if (Volatile.Read(ref _disposed) == 0)
        {
            _ = NativeMethods.Kill(_pid, NativeMethods.SigKill);
        }
    }

    /// <summary>The silo's number in its cluster, in start order.</summary>
    public int Index { get; }

    /// <summary>host:port it serves and advertises.</summary>
    public string Endpoint { get; }

    /// <summary>For messages: "silo1 (127.0.0.1:40001)".</summary>
    public string Name => "silo" + Index + " (" + Endpoint + ")";

    /// <summary>Its stdout and stderr.</summary>
    public string LogPath { get; }

    /// <summary>The process id.</summary>
    public int ProcessId => _pid;

    /// <summary>What the test did to it so far.</summary>
    public SiloState State => (SiloState)Volatile.Read(ref _state);

    /// <summary>Calls to this silo; one HTTP/2 channel shared by every caller.</summary>
    public CallInvoker Invoker => _channel.CreateCallInvoker();

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts the silo; <see cref="WaitUntilServingAsync"/> tells when it serves.</summary>
    /// <param name="index">Its number in the cluster.</param>
    /// <param name="siloDll">Path of Vehicles.Silo.dll; the working directory is its folder, where appsettings.json is.</param>
    /// <param name="endpoint">127.0.0.1:port to serve on.</param>
    /// <param name="environment">Configuration as environment variables (<c>Section__Key</c>).</param>
    /// <param name="logPath">The file that receives stdout and stderr.</param>
    public static SiloProcess Start(int index, string siloDll, string endpoint, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = Path.GetDirectoryName(siloDll)!,
            UseShellExecute = false,
        };

        // exec: the pid is the silo's own, so SIGTERM and SIGKILL reach it rather than a shell.
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$0\" \"$1\" >\"$2\" 2>&1");
        start.ArgumentList.Add(DotnetHost());
        start.ArgumentList.Add(siloDll);
        start.ArgumentList.Add(logPath);

        // Inherited settings that would make the silo listen elsewhere or run another environment.
        foreach (var inherited in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k == "DOTNET_URLS").ToList())
        {
            start.Environment.Remove(inherited);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + siloDll);
        return new SiloProcess(index, endpoint, logPath, process, StartWatchdog(process.Id));
    }

    /// <summary>Polls grpc.health.v1.Health/Check until SERVING; fails with the log's tail if the process exits or time runs out.</summary>
    public async Task WaitUntilServingAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        for (var attempt = 0; attempt < 1000 && DateTime.UtcNow < deadline; attempt++)
        {
            if (HasExited)
            {
                throw new InvalidOperationException(Name + " exited with code " + _process.ExitCode + " while starting." + Environment.NewLine + LogTail());
            }

            try
            {
                var response = await new Health.HealthClient(_channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + TimeSpan.FromSeconds(1));
                if (response.Status == ServingStatus.Serving)
                {
                    return;
                }

                last = response.Status.ToString();
            }
            catch (RpcException ex)
            {
                last = ex.StatusCode + ": " + ex.Status.Detail;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException(Name + " did not serve within " + timeout + " (last health answer: " + last + ")." + Environment.NewLine + LogTail());
    }

    /// <summary>Graceful leave: SIGTERM, then waits for the process to exit.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        Volatile.Write(ref _state, (int)SiloState.Leaving);
        if (NativeMethods.Kill(_pid, NativeMethods.SigTerm) != 0 && !HasExited)
        {
            throw new InvalidOperationException("kill(" + _pid + ", SIGTERM) failed with errno " + System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }

        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(Name + " did not exit within " + timeout + " of SIGTERM." + Environment.NewLine + LogTail());
        }

        Volatile.Write(ref _state, (int)SiloState.Left);
        return _process.ExitCode;
    }

    /// <summary>Freezes the process (SIGSTOP): it neither heartbeats nor answers, as if cut off from the cluster.</summary>
    public void Pause()
    {
        Volatile.Write(ref _state, (int)SiloState.Paused);
        if (NativeMethods.Kill(_pid, NativeMethods.SigStop) != 0)
        {
            throw new InvalidOperationException("kill(" + _pid + ", SIGSTOP) failed with errno " + System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Lets a paused process run again (SIGCONT).</summary>
    public void Resume()
    {
        if (NativeMethods.Kill(_pid, NativeMethods.SigCont) != 0)
        {
            throw new InvalidOperationException("kill(" + _pid + ", SIGCONT) failed with errno " + System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Waits for the process to exit by itself; the exit code, or null when it still runs after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Crash: SIGKILL, as kill -9 does; returns once the process is gone.</summary>
    public void Kill()
    {
        Volatile.Write(ref _state, (int)SiloState.Killed);
        _process.Kill();
        _process.WaitForExit(TimeSpan.FromSeconds(10));
    }

    /// <summary>The last lines of the silo's log, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var tail = new Queue<string>(lines);
            for (var i = 0; i < 1_000_000 && reader.ReadLine() is { } line; i++)
            {
                if (tail.Count == lines)
                {
                    tail.Dequeue();
                }

                // Stack traces arrive as one line each in the single-line format: their head says enough.
                tail.Enqueue(line.Length > 600 ? line[..600] + " ..." : line);
            }

            return "--- last " + tail.Count + " lines of " + Name + " log (" + LogPath + ") ---" + Environment.NewLine + string.Join(Environment.NewLine, tail);
        }
        catch (IOException ex)
        {
            return "--- " + Name + " log unreadable: " + ex.Message;
        }
    }

    /// <summary>Lines of the log that contain <paramref name="text"/> (at most <paramref name="max"/>).</summary>
    public IReadOnlyList<string> LogLines(string text, int max = 50)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var found = new List<string>();
            for (var i = 0; i < 1_000_000 && found.Count < max && reader.ReadLine() is { } line; i++)
            {
                if (line.Contains(text, StringComparison.OrdinalIgnoreCase))
                {
                    found.Add(line);
                }
            }

            return found;
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>Kills the process if it still runs, and its watchdog.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        GC.SuppressFinalize(this);
        _channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        if (_watchdog is { HasExited: false })
        {
            _watchdog.Kill();
        }

        _watchdog?.Dispose();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>
    /// A shell that kills the silo once the test process is gone: a test host killed by a runner's timeout runs no
    /// finalizer or dispose, and an orphaned silo would keep its port and its heartbeats.
    /// </summary>
    private static Process? StartWatchdog(int siloPid)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("while kill -0 \"$0\" 2>/dev/null && kill -0 \"$1\" 2>/dev/null; do sleep 1; done; kill -9 \"$1\" 2>/dev/null");
        start.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add(siloPid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Process.Start(start);
    }
}
