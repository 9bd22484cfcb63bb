using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Vehicles.Storage.Tests;

/// <summary>
/// A child process (this test assembly, run with <c>crash-writer</c>) that writes states through the batched
/// storage and prints each acknowledged write, until the test kills it (SIGKILL, no shutdown of any kind).
/// </summary>
internal static class CrashWriter
{
    private const int Grains = 200;

    /// <summary>
    /// Starts the child, waits until it has acknowledged <paramref name="acknowledgements"/> writes, kills it and
    /// returns the last acknowledged (ETag, text) of each grain key.
    /// </summary>
    public static async Task<Dictionary<string, (string Etag, string Text)>> RunAndKillAsync(VehicleStorageOptions options, string serviceId, int acknowledgements)
    {
        var assembly = typeof(CrashWriter).Assembly.Location;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add("crash-writer");
        start.ArgumentList.Add(JsonSerializer.Serialize(options));
        start.ArgumentList.Add(serviceId);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the crash writer.");
        var stderr = child.StandardError.ReadToEndAsync();
        var last = new Dictionary<string, (string, string)>();
        var count = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (count < acknowledgements)
            {
                var line = await child.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"The crash writer exited after {count} acknowledgements: {await stderr}");
                var parts = line.Split(' ', 3);
                last[parts[0]] = (parts[1], parts[2]);
                count++;
            }
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        return last;
    }

    /// <summary>The child: <c>crash-writer &lt;options json&gt; &lt;service id&gt;</c>.</summary>
    public static async Task<int> MainAsync(string[] args)
    {
        var options = JsonSerializer.Deserialize<VehicleStorageOptions>(args[0])!;
        var storage = StorageHarness.Create(options, args[1]);
        var etags = new string?[Grains];
        var output = Console.Out;
        var outputLock = new Lock();
        await Task.WhenAll(Enumerable.Range(0, Grains).Select(async grain =>
        {
            for (var round = 0; ; round++)
            {
                var text = string.Create(CultureInfo.InvariantCulture, $"grain {grain} round {round}");
                etags[grain] = await StorageHarness.WriteAsync(storage, $"crash-{grain}", text, etags[grain]);
                lock (outputLock)
                {
                    output.WriteLine($"crash-{grain} {etags[grain]} {text}");
                    output.Flush();
                }
            }
        }));
        return 0;
    }
}
