using System.Globalization;
using Vehicles.Actors;

namespace Vehicles.Cluster.Tests;

public sealed class RendezvousPlacementTests
{
    private const int KeyCount = 100_000;

    private static readonly SiloAddress _siloA = new("10.0.0.1:11111", 638_000_000_000_000_001);
    private static readonly SiloAddress _siloB = new("10.0.0.2:11111", 638_000_000_000_000_002);
    private static readonly SiloAddress _siloC = new("10.0.0.3:11111", 638_000_000_000_000_003);
    private static readonly SiloAddress _siloD = new("10.0.0.4:11111", 638_000_000_000_000_004);

    [Theory]
    [InlineData("", 0xcbf29ce484222325)]
    [InlineData("a", 0xaf63dc4c8601ec8c)]
    [InlineData("foobar", 0x85944171f73967e8)]
    public void Fnv1a64_OfReferenceVectors_MatchesPublishedValues(string text, ulong expected)
    {
        var hash = StableHash.Fnv1a64(text);

        Assert.Equal(expected, hash);
    }

    [Fact]
    public void Fnv1a64_OfNonAsciiText_HashesItsUtf8Bytes()
    {
        var hash = StableHash.Fnv1a64("Fahrzeug-Größe");

        Assert.Equal(StableHash.Fnv1a64(System.Text.Encoding.UTF8.GetBytes("Fahrzeug-Größe")), hash);
        Assert.NotEqual(StableHash.Fnv1a64("Fahrzeug-Grosse"), hash);
    }

    [Fact]
    public void OfGrain_HashesLikeJoinedIdentity()
    {
        var hash = StableHash.OfGrain("vehicle", "WVWZZZ1JZXW000001");

        Assert.Equal(StableHash.Fnv1a64("vehicle/WVWZZZ1JZXW000001"), hash);
    }

    [Fact]
    public void TryGetOwner_WithSameSilosInAnyOrder_ChoosesSameOwner()
    {
        var first = new RendezvousPlacement([_siloA, _siloB, _siloC]);
        var second = new RendezvousPlacement([_siloC, _siloA, _siloB, _siloA]);

        var disagreements = Keys(10_000).Count(key => Owner(first, key) != Owner(second, key));

        Assert.Equal(0, disagreements);
        Assert.Equal([_siloA, _siloB, _siloC], second.Silos);
    }

    [Fact]
    public void TryGetOwner_WhenNoSilos_ReturnsFalse()
    {
        var found = RendezvousPlacement.Empty.TryGetOwner(new GrainId("vehicle", "VIN1"), out _);

        Assert.False(found);
    }

    [Fact]
    public void TryGetOwner_OverManyKeysAndThreeSilos_BalancesWithinThreePercent()
    {
        var placement = new RendezvousPlacement([_siloA, _siloB, _siloC]);

        var counts = Keys(KeyCount).GroupBy(key => Owner(placement, key)).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(3, counts.Count);
        foreach (var count in counts.Values)
        {
            // Binomial standard deviation is about 150 keys here; 3 % of a third is about 1,000.
            Assert.InRange(count, KeyCount / 3 - KeyCount / 100, KeyCount / 3 + KeyCount / 100);
        }
    }

    [Fact]
    public void TryGetOwner_WhenSiloJoins_MovesAboutAQuarterOfKeysAllToTheJoiningSilo()
    {
        var before = new RendezvousPlacement([_siloA, _siloB, _siloC]);
        var after = new RendezvousPlacement([_siloA, _siloB, _siloC, _siloD]);

        var moved = Keys(KeyCount).Select(key => (Before: Owner(before, key), After: Owner(after, key))).Where(p => p.Before != p.After).ToList();

        Assert.All(moved, p => Assert.Equal(_siloD, p.After));
        Assert.InRange(moved.Count, KeyCount / 4 - KeyCount / 100, KeyCount / 4 + KeyCount / 100);
    }

    [Fact]
    public void TryGetOwner_WhenSiloLeaves_MovesOnlyTheLeavingSilosKeys()
    {
        var before = new RendezvousPlacement([_siloA, _siloB, _siloC, _siloD]);
        var after = new RendezvousPlacement([_siloA, _siloB, _siloD]);

        var pairs = Keys(KeyCount).Select(key => (Before: Owner(before, key), After: Owner(after, key))).ToList();

        Assert.All(pairs.Where(p => p.Before != _siloC), p => Assert.Equal(p.Before, p.After));
        var orphaned = pairs.Where(p => p.Before == _siloC).ToList();
        Assert.NotEmpty(orphaned);
        Assert.All(orphaned, p => Assert.NotEqual(_siloC, p.After));

        // The leaving silo's keys spread over all the others rather than landing on one neighbour.
        Assert.Equal(3, orphaned.Select(p => p.After).Distinct().Count());
    }

    [Fact]
    public void TryGetOwner_WhenGenerationChanges_TreatsTheRestartAsAnotherSilo()
    {
        var restarted = _siloC with { Generation = _siloC.Generation + 1 };
        var before = new RendezvousPlacement([_siloA, _siloB, _siloC]);
        var after = new RendezvousPlacement([_siloA, _siloB, restarted]);

        var keys = Keys(KeyCount).ToList();
        var unchanged = keys.Count(key => Owner(before, key) == _siloC && Owner(after, key) == restarted);

        // Independent weights: C and its restart both beat A and B when A and B are the lowest two of four, 1/6 of keys
        // (with the same identity it would be 1/3).
        Assert.InRange(unchanged, KeyCount / 6 - KeyCount / 100, KeyCount / 6 + KeyCount / 100);
    }

    [Fact]
    public void IsLocal_FollowsUpdatedActiveSilos()
    {
        var director = new RendezvousPlacementDirector();
        var grain = Keys(1_000).Select(k => new GrainId("vehicle", k)).First(g => Owner(new RendezvousPlacement([_siloA, _siloB]), g.Key) == _siloB);

        var beforeJoin = director.IsLocal(grain);
        director.Update(_siloB, [_siloA, _siloB]);
        var afterJoin = director.IsLocal(grain);
        director.Update(_siloB, [_siloA]);
        var afterLeave = director.IsLocal(grain);
        director.TryGetOwner(grain, out var owner);

        Assert.False(beforeJoin);
        Assert.True(afterJoin);
        Assert.False(afterLeave);
        Assert.Equal(_siloA, owner);
    }

    private static IEnumerable<string> Keys(int count)
        => Enumerable.Range(0, count).Select(i => "WVW" + i.ToString("D14", CultureInfo.InvariantCulture));

    private static SiloAddress Owner(RendezvousPlacement placement, string vin)
    {
        Assert.True(placement.TryGetOwner(new GrainId("vehicle", vin), out var owner));
        return owner;
    }
}
