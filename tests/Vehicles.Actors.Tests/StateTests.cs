using Microsoft.Extensions.DependencyInjection;
using Vehicles.Persistence;

namespace Vehicles.Actors.Tests;

public sealed class StateTests
{
    [Fact]
    public async Task State_IsReadBeforeOnActivateAsync()
    {
        var storage = new InMemoryGrainStorage();
        var serializer = new GrainStateSerializer();
        await storage.WriteAsync("profile/profile", "VIN9", serializer.Serialize(new Profile { Name = "stored", Visits = 3 }), null);
        await using var silo = await TestSilo.StartAsync(storage: storage);

        var seen = await silo.Grains.GetGrain<IProfileGrain>("VIN9").GetNameSeenAtActivationAsync();

        Assert.Equal("stored", seen);
    }

    [Fact]
    public async Task WriteStateAsync_StoresTheState_AndMovesTheEtag()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IProfileGrain>("w");

        var before = await grain.GetEtagAsync();
        await grain.SetNameAsync("first", write: true);
        var afterFirst = await grain.GetEtagAsync();
        await grain.SetNameAsync("second", write: true);
        var afterSecond = await grain.GetEtagAsync();
        var stored = await silo.Storage.ReadAsync("profile/profile", "w");

        Assert.Null(before);
        Assert.NotNull(afterFirst);
        Assert.NotEqual(afterFirst, afterSecond);
        Assert.Equal(afterSecond, stored!.Etag);
        var profile = new GrainStateSerializer().Deserialize<Profile>(stored.Data.Span);
        Assert.Equal("second", profile.Name);
        Assert.Equal(2, profile.Visits);
    }

    [Fact]
    public async Task WriteStateAsync_AfterAnotherWriter_RaisesInconsistentStateException_AndWritesNothing()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IProfileGrain>("conflict");
        await grain.SetNameAsync("mine", write: true);
        var etag = await grain.GetEtagAsync();
        var intruder = new GrainStateSerializer().Serialize(new Profile { Name = "theirs" });
        await silo.Storage.WriteAsync("profile/profile", "conflict", intruder, etag);

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetNameAsync("mine again", write: true));

        var stored = await silo.Storage.ReadAsync("profile/profile", "conflict");
        Assert.Equal("theirs", new GrainStateSerializer().Deserialize<Profile>(stored!.Data.Span).Name);
    }

    [Fact]
    public async Task ClearStateAsync_DeletesTheRecord_AndResetsTheState()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IProfileGrain>("clear");
        await grain.SetNameAsync("gone soon", write: true);

        await grain.ClearAsync();

        Assert.Null(await silo.Storage.ReadAsync("profile/profile", "clear"));
        Assert.Equal(string.Empty, (await grain.GetAsync()).Name);
        Assert.Null(await grain.GetEtagAsync());
    }

    [Fact]
    public async Task KeyedStorage_NamedLikeTheProvider_IsPreferredOverTheUnkeyedOne()
    {
        var keyed = new InMemoryGrainStorage();
        await using var silo = await TestSilo.StartAsync(services: s => s.AddKeyedSingleton<IGrainStorage>("Default", keyed));

        await silo.Grains.GetGrain<IProfileGrain>("k").SetNameAsync("keyed", write: true);

        Assert.Equal(1, keyed.Writes);
        Assert.Equal(0, silo.Storage.Writes);
    }
}
