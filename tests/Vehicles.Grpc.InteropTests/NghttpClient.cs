using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Vehicles.Grpc.InteropTests;

/// <summary>What nghttp saw of one response stream: headers, trailers, the frames in order, and the body.</summary>
internal sealed record RawResponse(
    List<(string Name, string Value)> Headers,
    List<(string Name, string Value)> Trailers,
    List<string> Frames,
    byte[] Body)
{
    public string? Header(string name) => Headers.Where(h => h.Name == name).Select(h => h.Value).FirstOrDefault();

    public string? Trailer(string name) => Trailers.Where(h => h.Name == name).Select(h => h.Value).FirstOrDefault();
}

/// <summary>
/// Sends one POST with nghttp (nghttp2-client), an HTTP/2 client that knows nothing of gRPC, to check the
/// server's wire format frame by frame and to send headers (grpc-timeout) without a client-side deadline.
/// </summary>
internal static partial class NghttpClient
{
    private const string Nghttp = "/usr/bin/nghttp";
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(30);

    public static async Task<RawResponse> PostAsync(Uri server, string path, byte[] body, params (string Name, string Value)[] headers)
    {
        if (!File.Exists(Nghttp))
        {
            throw new InvalidOperationException($"{Nghttp} is missing: install nghttp2-client (scripts/servers.sh start or scripts/test.sh do).");
        }

        var bodyFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(bodyFile, body);
            var url = new Uri(server, path).ToString();
            // One run shows the frames (body discarded), one gives the body bytes: -v mixes both on stdout.
            var (verbose, _) = await RunAsync(["-v", "-n", .. HeaderArguments(headers), "-d", bodyFile, url]);
            var (_, bytes) = await RunAsync([.. HeaderArguments(headers), "-d", bodyFile, url]);
            return Parse(verbose, bytes);
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }

    private static IEnumerable<string> HeaderArguments((string Name, string Value)[] headers) =>
        headers.SelectMany(h => new[] { "-H", $"{h.Name}: {h.Value}" });

    private static RawResponse Parse(string verbose, byte[] body)
    {
        var headers = new List<(string, string)>();
        var trailers = new List<(string, string)>();
        var frames = new List<string>();
        var pending = new List<(string, string)>();
        foreach (var line in verbose.Split('\n'))
        {
            var header = HeaderLine().Match(line);
            if (header.Success)
            {
                pending.Add((header.Groups["name"].Value, header.Groups["value"].Value.TrimEnd('\r')));
                continue;
            }

            var frame = FrameLine().Match(line);
            if (!frame.Success || frame.Groups["stream"].Value == "0")
            {
                continue;
            }

            var type = frame.Groups["type"].Value;
            var endStream = (Convert.ToInt32(frame.Groups["flags"].Value, 16) & 0x1) != 0;
            frames.Add(type + (endStream ? " END_STREAM" : string.Empty));
            if (type == "HEADERS")
            {
                // nghttp prints a HEADERS frame's fields before the frame line itself.
                (headers.Count == 0 ? headers : trailers).AddRange(pending);
                pending.Clear();
            }
        }

        return new RawResponse(headers, trailers, frames, body);
    }

    private static async Task<(string Text, byte[] Bytes)> RunAsync(IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(Nghttp)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {Nghttp}.");
        using var timeout = new CancellationTokenSource(_timeout);
        try
        {
            using var output = new MemoryStream();
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.StandardOutput.BaseStream.CopyToAsync(output, timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            await stderr;
            var bytes = output.ToArray();
            return (System.Text.Encoding.UTF8.GetString(bytes), bytes);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [GeneratedRegex(@"recv \(stream_id=\d+\) (?<name>:?[^:\s]+): (?<value>.*)$")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"recv (?<type>[A-Z_]+) frame <length=\d+, flags=0x(?<flags>[0-9a-f]+), stream_id=(?<stream>\d+)>")]
    private static partial Regex FrameLine();
}
