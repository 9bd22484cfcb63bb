namespace Vehicles.Actors.Tests;

public sealed class TimerAndReminderTests
{
    [Fact]
    public async Task GrainTimer_WhileATickRuns_DoesNotStartAnother()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITimerGrain>("t");
        await grain.StartAsync(TimeSpan.FromSeconds(1));

        silo.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.Within(silo.Probe.Signal("tick:t:1").Task);
        silo.Time.Advance(TimeSpan.FromSeconds(30));
        var ticksWhileBlocked = silo.Probe.Count;
        silo.Probe.Signal("release-tick:t:1").TrySetResult();
        var ticksAfterFirst = await grain.GetTicksAsync();
        silo.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.Within(silo.Probe.Signal("tick:t:2").Task);
        silo.Probe.Signal("release-tick:t:2").TrySetResult();

        Assert.Equal(1, ticksWhileBlocked);
        Assert.Equal(1, ticksAfterFirst);
        Assert.Equal(1, silo.Probe.MaxActive);
    }

    [Fact]
    public async Task GrainTimer_AfterDeactivation_StopsTicking()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CollectionAge = TimeSpan.FromMinutes(1));
        var grain = silo.Grains.GetGrain<ITimerGrain>("gone");
        await grain.StartAsync(TimeSpan.FromHours(1));

        silo.Time.Advance(TimeSpan.FromMinutes(3));
        await Eventually.TrueAsync(() => silo.Runtime.ActivationCount == 0, "idle grain collected (timer ticks do not keep it alive)");
        silo.Time.Advance(TimeSpan.FromHours(2));

        Assert.Equal(0, silo.Probe.Count);
        Assert.Equal(0, silo.Runtime.ActivationCount);
    }

    [Fact]
    public async Task Reminder_Fires_AndFiresAgainAfterARestart()
    {
        var time = new FakeTimeProvider();
        var table = new InMemoryReminderTable();
        var probe = new Probe();
        var silo = await TestSilo.StartAsync(time: time, reminders: table, probe: probe);
        await silo.Grains.GetGrain<IReminderGrain>("car").RegisterAsync("service", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
        await silo.StopAsync();
        await silo.DisposeAsync();

        // The first silo is gone before the first tick: the restarted one must deliver it, and the next.
        await using var restarted = await TestSilo.StartAsync(time: time, reminders: table, probe: probe);
        time.Advance(TimeSpan.FromMinutes(1));
        await Eventually.Within(probe.Signal("reminder:car:service:1").Task);
        var start = time.GetUtcNow();
        await Eventually.TrueAsync(() => RowStart(table) == start + TimeSpan.FromMinutes(10), "next tick stored");
        time.Advance(TimeSpan.FromMinutes(10));
        await Eventually.Within(probe.Signal("reminder:car:service:2").Task);
        await Eventually.TrueAsync(() => RowStart(table) == start + TimeSpan.FromMinutes(20), "next tick stored");

        Assert.Equal(["reminder:car:service:00:01", "reminder:car:service:00:11"], probe.Events.Where(e => e.StartsWith("reminder:", StringComparison.Ordinal)));
        var row = Assert.Single(await table.ReadAllAsync());
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMinutes(10), row.StartAt);
    }

    [Fact]
    public async Task Reminder_MissedWhileDown_FiresOnceAtStart()
    {
        var time = new FakeTimeProvider();
        var table = new InMemoryReminderTable();
        var probe = new Probe();
        var silo = await TestSilo.StartAsync(time: time, reminders: table, probe: probe);
        await silo.Grains.GetGrain<IReminderGrain>("late").RegisterAsync("check", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
        await silo.StopAsync();
        await silo.DisposeAsync();
        time.Advance(TimeSpan.FromMinutes(35));

        await using var restarted = await TestSilo.StartAsync(time: time, reminders: table, probe: probe);
        time.Advance(TimeSpan.Zero);
        await Eventually.Within(probe.Signal("reminder:late:check:1").Task);
        await Eventually.TrueAsync(() => RowStart(table) > time.GetUtcNow(), "next tick stored");

        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMinutes(6), (await table.ReadAllAsync()).Single().StartAt);
        Assert.Single(probe.Events, e => e.StartsWith("reminder:late:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OneShotReminder_FiresOnce_AndLeavesTheTable()
    {
        var table = new InMemoryReminderTable();
        await using var silo = await TestSilo.StartAsync(reminders: table);
        await silo.Grains.GetGrain<IReminderGrain>("once").RegisterAsync("ping", TimeSpan.FromSeconds(30), TimeSpan.Zero);

        silo.Time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.Within(silo.Probe.Signal("reminder:once:ping:1").Task);
        await Eventually.TrueAsync(() => table.Count == 0, "one-shot row removed");
        silo.Time.Advance(TimeSpan.FromHours(1));

        Assert.Single(silo.Probe.Events, e => e.StartsWith("reminder:once:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnregisteredReminder_NoLongerFires()
    {
        var table = new InMemoryReminderTable();
        await using var silo = await TestSilo.StartAsync(reminders: table);
        var grain = silo.Grains.GetGrain<IReminderGrain>("stop");
        await grain.RegisterAsync("r", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));

        await grain.UnregisterAsync("r");
        silo.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Empty(await table.ReadAllAsync());
        Assert.DoesNotContain(silo.Probe.Events, e => e.StartsWith("reminder:", StringComparison.Ordinal));
    }

    private static DateTimeOffset? RowStart(InMemoryReminderTable table) => table.Rows.SingleOrDefault()?.StartAt;
}
