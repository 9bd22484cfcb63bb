namespace Vehicles.Actors.Tests;

public sealed class SchedulingTests
{
    [Fact]
    public async Task ConcurrentCalls_ToOneGrain_NeverOverlap()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITurnGrain>("one");

        var calls = Enumerable.Range(0, 200).Select(_ => grain.YieldingAsync(5)).ToArray();
        await Eventually.Within(Task.WhenAll(calls));

        Assert.Equal(200, silo.Probe.Count);
        Assert.Equal(1, silo.Probe.MaxActive);
    }

    [Fact]
    public async Task Calls_ToDifferentGrains_RunInParallel()
    {
        await using var silo = await TestSilo.StartAsync();

        // Each blocks its thread until the other has entered: only parallel execution lets both finish.
        var a = silo.Grains.GetGrain<ITurnGrain>("a").BlockUntilOtherEntersAsync("b");
        var b = silo.Grains.GetGrain<ITurnGrain>("b").BlockUntilOtherEntersAsync("a");
        var results = await Eventually.Within(Task.WhenAll(a, b), 20_000);

        Assert.Equal([true, true], results);
    }

    [Fact]
    public async Task Call_WhileAnotherAwaits_WaitsForTheWholeTurn()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITurnGrain>("turn");
        var first = grain.GatedAsync("first");
        await Eventually.Within(silo.Probe.Signal("entered:turn:first").Task);

        var second = grain.GatedAsync("second");
        silo.Probe.Signal("release:turn:second").TrySetResult();
        var ping = await Eventually.Within(grain.PingAsync());
        var secondStartedEarly = silo.Probe.Signal("entered:turn:second").Task.IsCompleted;
        silo.Probe.Signal("release:turn:first").TrySetResult();
        var results = await Eventually.Within(Task.WhenAll(first, second));

        // The always-interleave ping got through while "first" was suspended; "second" did not.
        Assert.Equal("pong", ping);
        Assert.False(secondStartedEarly);
        Assert.Equal(["first", "second"], results);
        Assert.Equal(1, silo.Probe.MaxActive);
    }

    [Fact]
    public async Task ReentrantGrain_WhileACallAwaits_RunsTheNextOne()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IReentrantGrain>("r");
        var first = grain.GatedAsync("first");
        await Eventually.Within(silo.Probe.Signal("entered:r:first").Task);

        var second = grain.GatedAsync("second");
        silo.Probe.Signal("release:r:second").TrySetResult();
        var secondResult = await Eventually.Within(second);
        var firstStillRunning = !first.IsCompleted;
        silo.Probe.Signal("release:r:first").TrySetResult();
        await Eventually.Within(first);

        Assert.Equal("second", secondResult);
        Assert.True(firstStillRunning);
        Assert.Equal(2, silo.Probe.MaxActive);
    }

    [Fact]
    public async Task ReadOnlyCalls_InterleaveWithEachOther_ButNotWithWrites()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITurnGrain>("ro");
        var read1 = grain.GatedReadAsync("r1");
        var read2 = grain.GatedReadAsync("r2");
        var write = grain.GatedAsync("w");

        // Both reads are inside the grain at once.
        await Eventually.Within(Task.WhenAll(silo.Probe.Signal("entered:ro:r1").Task, silo.Probe.Signal("entered:ro:r2").Task));
        var writeStartedDuringReads = silo.Probe.Signal("entered:ro:w").Task.IsCompleted;
        silo.Probe.Signal("release:ro:r1").TrySetResult();
        silo.Probe.Signal("release:ro:r2").TrySetResult();
        silo.Probe.Signal("release:ro:w").TrySetResult();
        await Eventually.Within(Task.WhenAll(read1, read2, write));

        Assert.False(writeStartedDuringReads);
        Assert.DoesNotContain("writer-saw-reader", silo.Probe.Events);
        Assert.DoesNotContain("reader-saw-writer", silo.Probe.Events);
    }

    [Fact]
    public async Task MailboxOverflow_RejectsTheCall_WithMailboxFullException()
    {
        await using var silo = await TestSilo.StartAsync(o => o.MailboxCapacity = 2);
        var grain = silo.Grains.GetGrain<ITurnGrain>("full");
        var running = grain.GatedAsync("running");
        await Eventually.Within(silo.Probe.Signal("entered:full:running").Task);
        var queued1 = grain.EchoAsync("1");
        var queued2 = grain.EchoAsync("2");

        var error = await Assert.ThrowsAsync<MailboxFullException>(() => grain.EchoAsync("3"));

        Assert.Equal(new GrainId("turn", "full"), error.GrainId);
        Assert.Equal(2, error.Capacity);
        silo.Probe.Signal("release:full:running").TrySetResult();
        Assert.Equal(["1", "2"], await Eventually.Within(Task.WhenAll(queued1, queued2)));
        await running;
    }
}
