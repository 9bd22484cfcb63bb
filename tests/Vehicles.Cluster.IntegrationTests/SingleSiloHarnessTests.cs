namespace Vehicles.Cluster.IntegrationTests;

/// <summary>The harness itself on one silo without clustering: start, load, SIGTERM, nothing lost.</summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class SingleSiloHarnessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ClusterHarness _cluster = ClusterHarness.Create(output, clustered: false);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task SingleSilo_LoadThenSigterm_NoFailedCallAndCleanExit()
    {
        var silos = await _cluster.StartSilosAsync(1);
        var load = new LoadDriver(_cluster, new SiloRotation(silos), new LoadOptions { Vehicles = 10 });
        await load.StartAsync(TimeSpan.FromSeconds(30));

        await load.WaitForCallsAsync(40);
        await load.StopAsync();
        var durable = load.Vehicles.ToDictionary(v => v.Vin, v => v.HighestDurableAcked);
        var missing = await Verify.MissingCommandsAsync(_cluster, silos, load.AcceptedCommands);
        var regressed = await Verify.DurableRegressionsAsync(_cluster, silos, durable);
        var lost = await Verify.LostReportsAsync(_cluster, silos, load.Vehicles.ToDictionary(v => v.Vin, v => v.HighestAcked));
        var exitCode = await silos[0].StopAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(load.Summary());

        var expect = new Expectations(_cluster, load);
        expect.None(load.Failures, "failed calls");
        expect.None(load.Vehicles.SelectMany(v => v.StreamEnds).Where(e => !e.WhileStopping), "streams ended under load");
        expect.None(load.Vehicles.SelectMany(v => v.Problems), "vehicle problems");
        expect.None(missing, "accepted commands not found");
        expect.None(regressed, "durable sequences below what was acknowledged");
        expect.None(lost, "acknowledged reports missing from the state");
        expect.Assert();
        Assert.NotEmpty(load.AcceptedCommands);
        Assert.All(load.Vehicles, v => Assert.True(v.ReportsAcked > 0));
        Assert.Equal(0, exitCode);
    }
}
