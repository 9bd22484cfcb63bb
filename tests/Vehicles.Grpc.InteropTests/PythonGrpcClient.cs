using System.Diagnostics;
using System.Text;
namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// Runs python/grpc_interop.py with Debian's python3-grpcio against a silo and returns what it printed.
/// The interpreter is <c>VEHICLES_TEST_PYTHON</c> or <c>/usr/bin/python3</c>, never the first python3 on
/// PATH, which may be another interpreter that does not see Debian's packages.
/// </summary>
internal sealed class PythonGrpcClient
{
    private const int MissingPackagesExitCode = 3;
    private static readonly TimeSpan _processTimeout = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions _json = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private readonly string _target;

    public PythonGrpcClient(Uri serverAddress)
    {
        _target = $"{serverAddress.Host}:{serverAddress.Port}";
    }

    public static string Interpreter => Environment.GetEnvironmentVariable("VEHICLES_TEST_PYTHON") is { Length: > 0 } python
        ? python
        : "/usr/bin/python3";

    private static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "python", "grpc_interop.py");

    /// <summary>Runs a case to its end and returns its JSON result.</summary>
    public async Task<JsonElement> RunAsync(string caseName, object? parameters = null)
    {
        await using var run = Start(caseName, parameters);
        return await run.ResultAsync();
    }

    /// <summary>Starts a case that talks to the test on stdin/stdout while its call is in flight.</summary>
    public PythonRun Start(string caseName, object? parameters = null)
    {
        if (!File.Exists(Interpreter))
        {
            throw new InvalidOperationException(
                $"{Interpreter} does not exist: the interop tests need Debian's python3 with python3-grpcio; run scripts/test.sh (or scripts/servers.sh start), which installs them.");
        }

        var startInfo = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        // -I: isolated, so no folder near the script or the working directory can pass for the grpc package.
        startInfo.ArgumentList.Add("-I");
        startInfo.ArgumentList.Add(ScriptPath);
        startInfo.ArgumentList.Add("--target");
        startInfo.ArgumentList.Add(_target);
        startInfo.ArgumentList.Add("--descriptors");
        startInfo.ArgumentList.Add(InteropDescriptors.Path);
        if (parameters is not null)
        {
            // System.Text.Json escapes non-ASCII by default, so the arguments survive any locale.
            startInfo.ArgumentList.Add("--params");
            startInfo.ArgumentList.Add(JsonSerializer.Serialize(parameters, _json));
        }

        startInfo.ArgumentList.Add(caseName);
        startInfo.Environment["PYTHONIOENCODING"] = "utf-8";
        startInfo.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        // Keep the C core quiet and away from proxies configured on the machine.
        startInfo.Environment["GRPC_VERBOSITY"] = "ERROR";
        startInfo.Environment["no_grpc_proxy"] = "*";
        startInfo.Environment.Remove("http_proxy");
        startInfo.Environment.Remove("https_proxy");
        startInfo.Environment.Remove("HTTP_PROXY");
        startInfo.Environment.Remove("HTTPS_PROXY");

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {Interpreter}.");
        return new PythonRun(process, caseName);
    }

    /// <summary>A running python case.</summary>
    internal sealed class PythonRun : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _caseName;
        private readonly Task<string> _stderr;
        private readonly CancellationTokenSource _timeout = new(_processTimeout);

        public PythonRun(Process process, string caseName)
        {
            _process = process;
            _caseName = caseName;
            _stderr = process.StandardError.ReadToEndAsync(_timeout.Token);
        }

        /// <summary>Reads the next JSON line the script prints (an event or the result).</summary>
        public async Task<JsonElement> ReadLineAsync()
        {
            var line = await _process.StandardOutput.ReadLineAsync(_timeout.Token);
            if (line is null)
            {
                await _process.WaitForExitAsync(_timeout.Token);
                throw Failure($"ended without output (exit code {_process.ExitCode})", await _stderr);
            }

            try
            {
                return JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException)
            {
                throw Failure($"printed a line that is not JSON: {line}", string.Empty);
            }
        }

        /// <summary>Writes a command (see case_stream in the script) as one JSON line to the script's stdin.</summary>
        public Task SendAsync(object command) => SendLineAsync(JsonSerializer.Serialize(command, _json));

        /// <summary>Reads the next event line and checks that it is a message; returns the message.</summary>
        public async Task<JsonElement> ReadMessageAsync()
        {
            var line = await ReadLineAsync();
            if (!line.TryGetProperty("event", out var kind) || kind.GetString() != "message")
            {
                throw Failure($"printed {line} where a message event was expected", string.Empty);
            }

            return line.GetProperty("message");
        }

        /// <summary>Writes a line to the script's stdin.</summary>
        public async Task SendLineAsync(string line)
        {
            await _process.StandardInput.WriteLineAsync(line.AsMemory(), _timeout.Token);
            await _process.StandardInput.FlushAsync(_timeout.Token);
        }

        /// <summary>Waits for the script to end and returns the result it printed last.</summary>
        public async Task<JsonElement> ResultAsync()
        {
            var output = await _process.StandardOutput.ReadToEndAsync(_timeout.Token);
            await _process.WaitForExitAsync(_timeout.Token);
            var stderr = await _stderr;
            if (_process.ExitCode == MissingPackagesExitCode)
            {
                throw new InvalidOperationException(
                    $"{Interpreter} cannot import grpc/protobuf: install Debian's python3-grpcio and python3-protobuf (run scripts/test.sh or scripts/servers.sh start). {stderr}");
            }

            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (_process.ExitCode != 0 || lines.Length == 0)
            {
                throw Failure($"exited with code {_process.ExitCode}; stdout: {output}", stderr);
            }

            return JsonDocument.Parse(lines[^1]).RootElement.Clone();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            _process.Dispose();
            _timeout.Dispose();
        }

        private InvalidOperationException Failure(string what, string stderr) =>
            new($"python case '{_caseName}' {what}. stderr: {stderr}");
    }
}
