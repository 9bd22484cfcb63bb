namespace Vehicles.Actors.Tests;

public sealed class LifecycleTests
{
    [Fact]
    public async Task IdleActivation_PastTheCollectionAge_IsDeactivated()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CollectionAge = TimeSpan.FromMinutes(10));
        var grain = silo.Grains.GetGrain<ITurnGrain>("idle");
        await grain.EchoAsync("wake");

        silo.Time.Advance(TimeSpan.FromMinutes(9));
        var activeBeforeAge = silo.Runtime.IsStayingActive(new GrainId("turn", "idle"));
        silo.Time.Advance(TimeSpan.FromMinutes(2));
        await Eventually.TrueAsync(() => silo.Runtime.ActivationCount == 0, "idle activation collected");

        Assert.True(activeBeforeAge);
        Assert.Contains("deactivate:idle:IdleTimeout", silo.Probe.Events);
        await grain.EchoAsync("again");
        Assert.Equal(2, silo.Probe.Events.Count(e => e == "activate:idle"));
    }

    [Fact]
    public async Task BusyActivation_IsNotCollected()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CollectionAge = TimeSpan.FromMinutes(10));
        var grain = silo.Grains.GetGrain<ITurnGrain>("busy");

        for (var i = 0; i < 5; i++)
        {
            await grain.EchoAsync("tick");
            silo.Time.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.True(silo.Runtime.IsStayingActive(new GrainId("turn", "busy")));
        Assert.DoesNotContain(silo.Probe.Events, e => e.StartsWith("deactivate:busy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DelayDeactivation_KeepsAnIdleActivation_UntilTheDelayEnds()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CollectionAge = TimeSpan.FromMinutes(10));
        var grain = silo.Grains.GetGrain<ITurnGrain>("kept");
        await grain.KeepAliveAsync(TimeSpan.FromMinutes(60));

        silo.Time.Advance(TimeSpan.FromMinutes(30));
        var activeWhileDelayed = silo.Runtime.IsStayingActive(new GrainId("turn", "kept"));
        silo.Time.Advance(TimeSpan.FromMinutes(32));
        await Eventually.TrueAsync(() => silo.Runtime.ActivationCount == 0, "collected once the delay is over");

        Assert.True(activeWhileDelayed);
        Assert.Contains("deactivate:kept:IdleTimeout", silo.Probe.Events);
    }

    [Fact]
    public async Task DeactivateOnIdle_DeactivatesAfterTheCall_AndTheNextCallReactivates()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITurnGrain>("bye");

        await grain.DeactivateAsync();
        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("deactivate:bye:ApplicationRequested"), "the grain deactivates");
        await grain.EchoAsync("back");

        Assert.Equal(2, silo.Probe.Events.Count(e => e == "activate:bye"));
    }

    [Fact]
    public async Task Shutdown_DeactivatesEveryActivation_AndFlushesTheirState()
    {
        var silo = await TestSilo.StartAsync();
        var storage = silo.Storage;
        for (var i = 0; i < 20; i++)
        {
            await silo.Grains.GetGrain<IProfileGrain>("p" + i).SetNameAsync("name" + i, write: false);
        }

        var writesBefore = storage.Writes;
        await silo.StopAsync();

        Assert.Equal(0, writesBefore);
        Assert.Equal(20, storage.Writes);
        Assert.Equal(0, silo.Runtime.ActivationCount);
        await Assert.ThrowsAsync<InvalidOperationException>(() => silo.Grains.GetGrain<ITurnGrain>("late").EchoAsync("x"));
        await silo.DisposeAsync();

        await using var restarted = await TestSilo.StartAsync(storage: storage);
        Assert.Equal("name7", await restarted.Grains.GetGrain<IProfileGrain>("p7").GetNameSeenAtActivationAsync());
    }
}
