using System.Diagnostics;
using System.Globalization;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using ApiSiloStatus = Vehicles.Api.V1.SiloStatus;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>A silo that stops answering long enough to be declared dead must not come back under that generation.</summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class PartitionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ClusterHarness _cluster = ClusterHarness.Create(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task FrozenSilo_DeclaredDeadByTheOthers_StopsWhenItWakesAndNeverTurnsActiveAgain()
    {
        var silos = await _cluster.StartSilosAsync(3);
        var frozen = silos[2];
        var frozenAt = Stopwatch.GetTimestamp();
        frozen.Pause();

        var declaredDead = await _cluster.WaitForStatusAsync(frozen, ApiSiloStatus.Dead, frozenAt, TimeSpan.FromSeconds(20));
        output.WriteLine(ClusterHarness.Now() + " the others declared " + frozen.Name + " dead after "
            + (declaredDead?.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) ?? "never (20 s)") + " s");
        frozen.Resume();
        var exitCode = await frozen.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var admin = new ApiClient(silos[0].Invoker, _cluster.OperatorToken(OperatorRole.Admin));
        var listed = await admin.CallAsync(ApiMethods.ListSilos, new ListSilosRequest { IncludeDead = true }, TimeSpan.FromSeconds(5));
        var generationsAtFrozenEndpoint = listed.Silos.Where(s => s.Endpoint == frozen.Endpoint).ToList();

        Assert.True(declaredDead is not null, "the frozen silo was not declared dead within 20 s" + Environment.NewLine + _cluster.LogTails());
        Assert.True(declaredDead < TimeSpan.FromSeconds(5), $"detection took {declaredDead}, over the 5 s bound");
        Assert.True(exitCode == 3, $"the silo declared dead exited with {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "nothing (still running)"}, not 3" + Environment.NewLine + frozen.LogTail());
        Assert.Equal([ApiSiloStatus.Dead], generationsAtFrozenEndpoint.Select(s => s.Status));
        Assert.Equal(2, listed.Silos.Count(s => s.Status == ApiSiloStatus.Active));
        Assert.Contains("was declared dead by the cluster", frozen.LogTail(80), StringComparison.Ordinal);
    }
}
