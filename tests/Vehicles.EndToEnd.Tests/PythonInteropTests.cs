using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Vehicles.Api.Security;

namespace Vehicles.EndToEnd.Tests;

/// <summary>The main flow driven by Debian's python3-grpcio (the C core), a client nobody here wrote.</summary>
public sealed class PythonInteropTests : SiloTestBase
{
    private static string Interpreter => Environment.GetEnvironmentVariable("VEHICLES_TEST_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3";

    [Fact]
    public async Task PythonClient_MainFlow_ConnectReportCommandResult()
    {
        const string vin = "1HGCM82633A004352";
        var parameters = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["vin"] = vin,
            ["vehicle_token"] = Silo.VehicleToken(vin, Fleet),
            ["operator_token"] = Silo.OperatorToken(Fleet, OperatorRole.Operator),
            ["now_seconds"] = Silo.Clock.GetUtcNow().ToUnixTimeSeconds(),
        });

        var result = await RunAsync(parameters);

        Assert.Equal("welcome", result.GetProperty("first").GetString());
        Assert.True(result.GetProperty("session_id_set").GetBoolean());
        Assert.Equal(1, result.GetProperty("ack_sequence").GetInt32());
        Assert.Equal(33.5, result.GetProperty("speed").GetDouble());
        Assert.Equal(71, result.GetProperty("state_of_charge").GetDouble());
        Assert.Equal(Fleet, result.GetProperty("fleet_id").GetString());
        Assert.True(result.GetProperty("online").GetBoolean());
        Assert.True(result.GetProperty("delivered_same_id").GetBoolean());
        Assert.Equal(80, result.GetProperty("delivered_percent").GetInt32());
        Assert.Equal(3, result.GetProperty("final_state").GetInt32());
        Assert.Equal("limit set", result.GetProperty("final_message").GetString());
        Assert.Equal("OK", result.GetProperty("stream_code").GetString());
        Assert.Equal("UNAUTHENTICATED", result.GetProperty("anonymous_code").GetString());
    }

    private async Task<JsonElement> RunAsync(string parameters)
    {
        if (!File.Exists(Interpreter))
        {
            throw new InvalidOperationException(Interpreter + " does not exist: the interop test needs Debian's python3 with python3-grpcio (scripts/test.sh installs it).");
        }

        var startInfo = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        // -I: isolated, so no folder near the script or the working directory can pass for the grpc package.
        startInfo.ArgumentList.Add("-I");
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "python", "api_interop.py"));
        startInfo.ArgumentList.Add("--target");
        startInfo.ArgumentList.Add(Silo.Address.Host + ":" + Silo.Address.Port);
        startInfo.ArgumentList.Add("--descriptors");
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "api_descriptors.pb"));
        startInfo.ArgumentList.Add("--params");
        startInfo.ArgumentList.Add(parameters);
        startInfo.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var process = Process.Start(startInfo)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("the python client did not finish within 60 s: " + await stderr);
        }

        Assert.True(process.ExitCode == 0, "python exited with " + process.ExitCode + ": " + await stderr);
        return JsonDocument.Parse(await stdout).RootElement.Clone();
    }
}
