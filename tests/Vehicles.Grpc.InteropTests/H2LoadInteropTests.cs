using System.Diagnostics;
using System.Text.RegularExpressions;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// h2load (nghttp2-client) drives unary calls at the silo over several connections with many streams each: every
/// request must be answered 200 (h2load's view) and complete as a gRPC OK in the silo (the <see cref="CallProbe"/>'s view,
/// since h2load does not read grpc-status). Bounded by request count and a timeout.
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed partial class H2LoadInteropTests(InteropSiloFixture fixture)
{
    private const string H2Load = "/usr/bin/h2load";
    private const string Fleet = "interop";
    private const int Requests = 2000;

    [Fact]
    public async Task GetVehicle_UnderH2Load_EveryRequestIsAGrpcOk()
    {
        var silo = fixture.Silo;
        var vin = Vins.Next();
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed: 1) }, silo.VehicleToken(vin, Fleet));
        Assert.Equal("OK", (await silo.Python.RunAsync("call", report)).Str("code"));
        var callId = Guid.NewGuid().ToString("N");
        var body = Path.GetTempFileName();
        await File.WriteAllBytesAsync(body, GrpcFrames.Frame(new GetVehicleRequest { Vin = vin }));
        try
        {
            var output = await RunAsync(
                "-n", Requests.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c", "4", "-m", "16",
                "-H", "content-type: application/grpc", "-H", "te: trailers",
                "-H", "authorization: Bearer " + silo.OperatorToken(OperatorRole.Viewer, Fleet),
                "-H", CallProbe.CallIdHeader + ": " + callId,
                "-d", body,
                new Uri(silo.Address, "/vehicles.v1.FleetOperator/GetVehicle").ToString());

            var summary = RequestsLine().Match(output);
            Assert.True(summary.Success, output);
            Assert.Equal(Requests, int.Parse(summary.Groups["succeeded"].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("0", summary.Groups["failed"].Value);
            Assert.Equal("0", summary.Groups["errored"].Value);
            var calls = await silo.Probe.WaitForAllAsync(callId, c => c.Count == Requests && c.All(r => r.Outcome is not null), "every call ended");
            Assert.All(calls, c => Assert.Equal("completed", c.Outcome));
        }
        finally
        {
            File.Delete(body);
        }
    }

    private static async Task<string> RunAsync(params string[] arguments)
    {
        if (!File.Exists(H2Load))
        {
            throw new InvalidOperationException($"{H2Load} is missing: install nghttp2-client (scripts/servers.sh start or scripts/test.sh do).");
        }

        var startInfo = new ProcessStartInfo(H2Load) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {H2Load}.");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"h2load exited with {process.ExitCode}: {await stderr}");
            return await stdout;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    // "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout"
    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored")]
    private static partial Regex RequestsLine();
}
