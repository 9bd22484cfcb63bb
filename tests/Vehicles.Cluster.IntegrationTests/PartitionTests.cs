using System.Diagnostics;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using ApiSiloStatus = Vehicles.Api.V1.SiloStatus;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>A silo that stops answering long enough to be declared dead must not come back under that generation.</summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class PartitionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Vehicles = 12;

    private readonly ClusterHarness _cluster = ClusterHarness.Create(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task FrozenSilo_DeclaredDeadByTheOthers_NeverServesAgainAndExitsWithCode3()
    {
        var silos = await _cluster.StartSilosAsync(3);
        var frozen = silos[2];

        // Vehicles first reached through the silo to be frozen: some of their grains live there, and a silo that went on
        // serving after being declared dead would answer for them from its stale activations.
        var vins = Enumerable.Range(1, Vehicles).Select(_cluster.Vin).ToList();
        foreach (var vin in vins)
        {
            await ReportAsync(frozen, vin);
        }

        var frozenAt = Stopwatch.GetTimestamp();
        frozen.Pause();
        var declaredDead = await _cluster.WaitForStatusAsync(frozen, ApiSiloStatus.Dead, frozenAt, TimeSpan.FromSeconds(20));
        output.WriteLine(ClusterHarness.Now() + " the others declared " + frozen.Name + " dead after "
            + (declaredDead?.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) ?? "never (20 s)") + " s");

        var resumedAt = Stopwatch.GetTimestamp();
        frozen.Resume();
        var served = await ServedUntilExitAsync(frozen, vins, TimeSpan.FromSeconds(30));
        var exitCode = await frozen.WaitForExitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine(ClusterHarness.Now() + " " + frozen.Name + " exited with " + (exitCode?.ToString(CultureInfo.InvariantCulture) ?? "nothing (still running)")
            + " " + Stopwatch.GetElapsedTime(resumedAt).TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s after SIGCONT; "
            + served.Count + " GetVehicle answered by it after SIGCONT");
        var admin = new ApiClient(silos[0].Invoker, _cluster.OperatorToken(OperatorRole.Admin));
        var listed = await admin.ListSilosAsync(new ListSilosRequest { IncludeDead = true }, TimeSpan.FromSeconds(5));
        var generationsAtFrozenEndpoint = listed.Silos.Where(s => s.Endpoint == frozen.Endpoint).ToList();
        var log = string.Join(Environment.NewLine, frozen.LogLines("FATAL: this silo is stopping with exit code 3"));

        Assert.True(declaredDead is not null, "the frozen silo was not declared dead within 20 s" + Environment.NewLine + _cluster.LogTails());
        Assert.True(declaredDead < TimeSpan.FromSeconds(5), $"detection took {declaredDead}, over the 5 s bound");
        Assert.True(served.Count == 0, "the silo declared dead answered after SIGCONT:" + Environment.NewLine + string.Join(Environment.NewLine, served) + Environment.NewLine + frozen.LogTail());
        Assert.True(exitCode == 3, $"the silo declared dead exited with {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "nothing (still running)"}, not 3" + Environment.NewLine + frozen.LogTail());
        Assert.Equal([ApiSiloStatus.Dead], generationsAtFrozenEndpoint.Select(s => s.Status));
        Assert.Equal(2, listed.Silos.Count(s => s.Status == ApiSiloStatus.Active));
        Assert.Contains("I have been told I am dead", log, StringComparison.Ordinal);
    }

    /// <summary>GetVehicle for each vehicle through <paramref name="silo"/>, in turn, until it exits; the answers it gave.</summary>
    private async Task<List<string>> ServedUntilExitAsync(SiloProcess silo, List<string> vins, TimeSpan timeout)
    {
        var served = new List<string>();
        var client = new ApiClient(silo.Invoker, _cluster.OperatorToken());
        var since = Stopwatch.GetTimestamp();
        var deadline = DateTime.UtcNow + timeout;
        for (var i = 0; i < 5000 && !silo.HasExited && DateTime.UtcNow < deadline; i++)
        {
            var vin = vins[i % vins.Count];
            try
            {
                var vehicle = await client.GetVehicleAsync(vin, TimeSpan.FromSeconds(2));
                served.Add("+" + Stopwatch.GetElapsedTime(since).TotalSeconds.ToString("F3", CultureInfo.InvariantCulture) + " s GetVehicle " + vehicle.Vin + " OK");
            }
            catch (RpcException)
            {
                // Refused, or the process is going: what a silo declared dead must do.
            }
        }

        return served;
    }

    private async Task ReportAsync(SiloProcess silo, string vin)
    {
        var request = new ReportRequest
        {
            Vin = vin,
            Status = new StatusReport { Sequence = 1, CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow), Signals = new Signals { Speed = 1 } },
        };
        var response = await new ApiClient(silo.Invoker, _cluster.VehicleToken(vin)).ReportAsync(request);
        Assert.Equal(1UL, response.Ack.Sequence);
    }
}
