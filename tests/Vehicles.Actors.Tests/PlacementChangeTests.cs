using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Vehicles.Persistence;

namespace Vehicles.Actors.Tests;

/// <summary>What a silo does when cluster membership moves grains: hand over, fence, follow the owner.</summary>
public sealed class PlacementChangeTests
{
    [Fact]
    public async Task RebalanceAsync_WhenAnotherSiloNowOwnsTheGrain_WritesItsStateAndSendsLaterCallsToTheOwner()
    {
        var placement = new SwitchablePlacement();
        var transport = new RecordingTransport();
        await using var silo = await StartAsync(placement, transport);
        var grain = silo.Grains.GetGrain<IProfileGrain>("VIN1");
        await grain.SetNameAsync("unsaved", write: false);

        placement.LocalKeys.Remove("VIN1");
        var handedOver = await Eventually.Within(silo.Runtime.RebalanceAsync());
        var call = grain.GetAsync();

        Assert.Equal(1, handedOver);
        Assert.Equal(0, silo.Runtime.ActivationCount);
        Assert.Equal(1, silo.Storage.Writes);
        Assert.Equal([new GrainId("profile", "VIN1")], transport.Sent.Select(s => s.Target));
        transport.Sent.Single().Request.TrySetResult(new Profile { Name = "from the owner" });
        Assert.Equal("from the owner", (await call).Name);
    }

    [Fact]
    public async Task RebalanceAsync_KeepsGrainsThisSiloStillOwns()
    {
        var placement = new SwitchablePlacement();
        await using var silo = await StartAsync(placement, new RecordingTransport());
        await silo.Grains.GetGrain<IProfileGrain>("VIN1").SetNameAsync("a", write: false);
        await silo.Grains.GetGrain<IProfileGrain>("VIN2").SetNameAsync("b", write: false);

        placement.LocalKeys.Remove("VIN2");
        var handedOver = await Eventually.Within(silo.Runtime.RebalanceAsync());

        Assert.Equal(1, handedOver);
        Assert.Equal(1, silo.Runtime.ActivationCount);
        Assert.Equal("a", (await silo.Grains.GetGrain<IProfileGrain>("VIN1").GetAsync()).Name);
    }

    [Fact]
    public async Task WhenHandedOver_CompletesOnlyOnceTheOldActivationHasWrittenItsState()
    {
        var placement = new SwitchablePlacement();
        var storage = new GatedStorage();
        await using var silo = await StartAsync(placement, new RecordingTransport(), storage);
        var id = new GrainId("profile", "VIN1");
        await silo.Grains.GetGrain<IProfileGrain>("VIN1").SetNameAsync("unsaved", write: false);
        Assert.True(silo.Runtime.WhenHandedOver(id).IsCompleted, "an activation that stays must not hold calls back");

        storage.HoldWrites();
        placement.LocalKeys.Remove("VIN1");
        var rebalance = silo.Runtime.RebalanceAsync();
        await Eventually.TrueAsync(() => storage.WaitingWrites == 1, "the hand-over write to start");
        var handedOver = silo.Runtime.WhenHandedOver(id);

        Assert.False(handedOver.IsCompleted);
        storage.ReleaseWrites();
        await Eventually.Within(handedOver);
        await Eventually.Within(rebalance);
        Assert.Equal(1, storage.Inner.Writes);
    }

    [Fact]
    public async Task FencedWrite_DeactivatesTheActivation_SoTheNextCallReadsTheStoredState()
    {
        var storage = new InMemoryGrainStorage();
        await using var silo = await TestSilo.StartAsync(storage: storage);
        var grain = silo.Grains.GetGrain<IProfileGrain>("VIN1");
        await grain.SetNameAsync("first", write: true);

        // Another activation (on another silo, during a membership change) writes behind this one's back.
        var etag = await grain.GetEtagAsync();
        var serializer = new GrainStateSerializer();
        await storage.WriteAsync("profile/profile", "VIN1", serializer.Serialize(new Profile { Name = "other silo", Visits = 7 }), etag);

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetNameAsync("stale", write: true));
        await Eventually.TrueAsync(() => silo.Runtime.ActivationCount == 0, "the fenced activation to deactivate");
        var profile = await grain.GetAsync();

        Assert.Equal("other silo", profile.Name);
        Assert.Equal(7, profile.Visits);
    }

    [Fact]
    public async Task Reminders_FireOnlyOnTheSiloThatOwnsTheGrain_AndFollowItBack()
    {
        var placement = new SwitchablePlacement();
        var time = new FakeTimeProvider();
        var probe = new Probe();
        await using var silo = await StartAsync(placement, new RecordingTransport(), time: time, probe: probe);
        await silo.Grains.GetGrain<IReminderGrain>("VIN1").RegisterAsync("wake", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));

        placement.LocalKeys.Remove("VIN1");
        await Eventually.Within(silo.Runtime.RebalanceAsync());
        time.Advance(TimeSpan.FromMinutes(3));
        Assert.Empty(probe.Events);

        placement.LocalKeys.Add("VIN1");
        await Eventually.Within(silo.Runtime.RebalanceAsync());
        time.Advance(TimeSpan.FromMinutes(1));
        await Eventually.Within(probe.Signal("reminder:VIN1:wake:1").Task);
    }

    [Fact]
    public void Codec_RecordHoldingProtobufMessages_RoundTripsTheMessages()
    {
        var codec = new GrainMessageCodec();
        var request = GrainTypeRegistry.FindInterface(typeof(IStampGrain))!.CreateRequest(0)!;
        var value = new Stamped("lock", new Timestamp { Seconds = 42, Nanos = 7 }, [new Duration { Seconds = 3 }, new Duration { Nanos = 5 }], new ListValue { Values = { Value.ForString("a"), Value.ForNumber(2) } });
        request.SetArgument(0, value);

        var (target, decoded) = codec.DecodeRequest(codec.EncodeRequest(new GrainId("stamp", "k"), request));
        var copy = (Stamped)decoded.GetArgument(0)!;

        Assert.Equal(new GrainId("stamp", "k"), target);
        Assert.Equal("lock", copy.Name);
        Assert.Equal(value.At, copy.At);
        Assert.Equal(value.Waits, copy.Waits);
        Assert.Equal(value.Tags, copy.Tags);
    }

    private static Task<TestSilo> StartAsync(
        SwitchablePlacement placement, RecordingTransport transport, IGrainStorage? storage = null, FakeTimeProvider? time = null, Probe? probe = null)
        => TestSilo.StartAsync(time: time, probe: probe, services: s =>
        {
            s.AddSingleton<IPlacementDirector>(placement);
            s.AddSingleton<IGrainCallTransport>(transport);
            if (storage is not null)
            {
                s.AddSingleton<IGrainStorage>(storage);
            }
        });

    /// <summary>Owns the keys in <see cref="LocalKeys"/>; a test moves grains away by removing them.</summary>
    private sealed class SwitchablePlacement : IPlacementDirector
    {
        public ConcurrentSet LocalKeys { get; } = new("VIN1", "VIN2");

        public bool IsLocal(GrainId grainId) => LocalKeys.Contains(grainId.Key);
    }

    private sealed class ConcurrentSet(params string[] keys)
    {
        private readonly ConcurrentDictionary<string, byte> _keys = new(keys.Select(k => KeyValuePair.Create(k, (byte)0)));

        public bool Contains(string key) => _keys.ContainsKey(key);

        public void Add(string key) => _keys[key] = 0;

        public void Remove(string key) => _keys.TryRemove(key, out _);
    }

    private sealed class RecordingTransport : IGrainCallTransport
    {
        public ConcurrentQueue<(GrainId Target, GrainRequest Request)> Sent { get; } = new();

        public void Send(GrainId target, GrainRequest request) => Sent.Enqueue((target, request));
    }

    /// <summary>In-memory storage whose writes can be held, to observe a hand-over in the middle of its write.</summary>
    private sealed class GatedStorage : IGrainStorage
    {
        private TaskCompletionSource? _gate;
        private int _waiting;

        public InMemoryGrainStorage Inner { get; } = new();

        public int WaitingWrites => Volatile.Read(ref _waiting);

        public void HoldWrites() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ReleaseWrites() => _gate?.TrySetResult();

        public Task<StoredState?> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default)
            => Inner.ReadAsync(grainType, grainKey, cancellationToken);

        public async Task<string> WriteAsync(string grainType, string grainKey, ReadOnlyMemory<byte> data, string? expectedEtag, CancellationToken cancellationToken = default)
        {
            if (_gate is { } gate)
            {
                Interlocked.Increment(ref _waiting);
                await gate.Task;
            }

            return await Inner.WriteAsync(grainType, grainKey, data, expectedEtag, cancellationToken);
        }

        public Task ClearAsync(string grainType, string grainKey, string? expectedEtag, CancellationToken cancellationToken = default)
            => Inner.ClearAsync(grainType, grainKey, expectedEtag, cancellationToken);
    }
}

/// <summary>A record holding protobuf messages, as grain contracts do (a command's parameters, a timestamp).</summary>
public sealed record Stamped(string Name, Timestamp At, IReadOnlyList<Duration> Waits, ListValue Tags);

public interface IStampGrain : IGrainWithStringKey
{
    Task<Stamped> EchoAsync(Stamped value);
}

public sealed class StampGrain : Grain, IStampGrain
{
    public Task<Stamped> EchoAsync(Stamped value) => Task.FromResult(value);
}
