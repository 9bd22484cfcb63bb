namespace Vehicles.Actors.Tests;

public sealed class CallTests
{
    [Fact]
    public async Task FirstCall_ActivatesTheGrain_Once_EvenWhenCallsRace()
    {
        await using var silo = await TestSilo.StartAsync();
        Assert.Equal(0, silo.Runtime.ActivationCount);

        var calls = Enumerable.Range(0, 64).Select(i => Task.Run(() => silo.Grains.GetGrain<ITurnGrain>("race").EchoAsync("x"))).ToArray();
        await Eventually.Within(Task.WhenAll(calls));

        Assert.Equal(1, silo.Runtime.ActivationCount);
        Assert.Single(silo.Probe.Events, e => e == "activate:race");
    }

    [Fact]
    public async Task GrainException_ReachesTheCaller_WithItsOwnType()
    {
        await using var silo = await TestSilo.StartAsync();

        var offline = await Assert.ThrowsAsync<VehicleOfflineException>(() => silo.Grains.GetGrain<IFailingGrain>("VIN1").FailAsync());
        var argument = await Assert.ThrowsAsync<ArgumentException>(() => silo.Grains.GetGrain<ITurnGrain>("t").ThrowAsync("bad input"));
        var sync = await Assert.ThrowsAsync<NotSupportedException>(async () => await silo.Grains.GetGrain<ITurnGrain>("t").ThrowSynchronously());

        Assert.Equal("Vehicle VIN1 is offline", offline.Message);
        Assert.StartsWith("bad input", argument.Message, StringComparison.Ordinal);
        Assert.Equal("sync failure", sync.Message);
        Assert.Equal("still works", await silo.Grains.GetGrain<ITurnGrain>("t").EchoAsync("still works"));
    }

    [Fact]
    public async Task ActivationFailure_FailsTheCall_AndTheNextCallRetries()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IActivationFailsGrain>("x");

        await Assert.ThrowsAsync<Vehicles.Persistence.InconsistentStateException>(() => grain.GetAsync());
        await Assert.ThrowsAsync<Vehicles.Persistence.InconsistentStateException>(() => grain.GetAsync());

        await Eventually.TrueAsync(() => silo.Runtime.ActivationCount == 0, "the failed activation leaves the directory");
    }

    [Fact]
    public async Task SlowCall_PastTheTimeout_FailsWithTimeoutException_AndTheGrainKeepsWorking()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CallTimeout = TimeSpan.FromSeconds(5));
        var grain = silo.Grains.GetGrain<ITurnGrain>("slow");
        var call = grain.GatedAsync("stuck");
        await Eventually.Within(silo.Probe.Signal("entered:slow:stuck").Task);

        silo.Time.Advance(TimeSpan.FromSeconds(8));

        await Assert.ThrowsAsync<TimeoutException>(() => call);
        silo.Probe.Signal("release:slow:stuck").TrySetResult();
        Assert.Equal("after", await Eventually.Within(grain.EchoAsync("after")));
    }

    [Fact]
    public async Task GrainToGrainCall_DeliversThroughAReference()
    {
        await using var silo = await TestSilo.StartAsync();

        await silo.Grains.GetGrain<ITurnGrain>("caller").CallOtherAsync("callee", "hi");
        var recorded = await silo.Grains.GetGrain<IEchoGrain>("callee").GetRecordedAsync();
        var roundTrip = await silo.Grains.GetGrain<IEchoGrain>("a").RoundTripThroughAsync("b");

        Assert.Equal(["hi from caller"], recorded);
        Assert.StartsWith("hello from ", roundTrip, StringComparison.Ordinal);
    }

    [Fact]
    public async Task References_ToTheSameGrain_AreEqual()
    {
        await using var silo = await TestSilo.StartAsync();

        var first = silo.Grains.GetGrain<IEchoGrain>("same");
        var second = silo.Grains.GetGrain<IEchoGrain>("same");
        var other = silo.Grains.GetGrain<IEchoGrain>("other");

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        Assert.Equal(new GrainId("echo", "same"), ((GrainReference)(object)first).GrainId);
    }

    [Fact]
    public async Task Request_CreatedByMethodId_IsDispatchedWithoutAProxy()
    {
        await using var silo = await TestSilo.StartAsync();
        var descriptor = GrainTypeRegistry.FindInterface(typeof(ITurnGrain))!;
        var method = descriptor.Methods.Single(m => m.Name == nameof(ITurnGrain.EchoAsync));
        var request = descriptor.CreateRequest(method.MethodId)!;
        request.SetArgument(0, "by id");

        silo.Runtime.DispatchLocal(new GrainId("turn", "dispatched"), request);
        var result = await Eventually.Within(request.GetResultAsync().AsTask());

        Assert.Equal("by id", result);
        Assert.Equal([typeof(string)], method.ArgumentTypes);
        Assert.Equal(typeof(string), method.ReturnType);
        Assert.Equal(GrainMethodOptions.ReadOnly, descriptor.Methods.Single(m => m.Name == nameof(ITurnGrain.GatedReadAsync)).Options);
    }
}
