using Vehicles.Actors;

namespace Vehicles.Cluster;

/// <summary>
/// Highest-random-weight (rendezvous) placement over an immutable set of silos: a grain belongs to the silo whose
/// combined hash with the grain's is highest. Every silo computes the same owner from the same set without talking to
/// the others, and a change of the set moves only what it must: a joining silo takes about 1/N of the grains (and only
/// it gains any), a leaving silo's grains spread over the rest and no other grain moves.
/// </summary>
public sealed class RendezvousPlacement
{
    private readonly SiloAddress[] _silos;
    private readonly ulong[] _siloHashes;

    /// <summary>A placement over <paramref name="silos"/>; order and duplicates do not matter.</summary>
    public RendezvousPlacement(IEnumerable<SiloAddress> silos)
    {
        ArgumentNullException.ThrowIfNull(silos);
        _silos = [.. silos.Distinct().OrderBy(s => s.Endpoint, StringComparer.Ordinal).ThenBy(s => s.Generation)];
        _siloHashes = new ulong[_silos.Length];
        for (var i = 0; i < _silos.Length; i++)
        {
            // Mixed on its own so that two silo identities differing in one character still differ in half their bits
            // before they meet the key hash.
            _siloHashes[i] = StableHash.Mix(StableHash.Fnv1a64(_silos[i].ToString()));
        }
    }

    /// <summary>A placement with no silos: every lookup finds no owner.</summary>
    public static RendezvousPlacement Empty { get; } = new([]);

    /// <summary>The silos, ordered by endpoint and generation.</summary>
    public IReadOnlyList<SiloAddress> Silos => _silos;

    /// <summary>The silo that owns <paramref name="grainId"/>, or <see langword="false"/> when there are no silos.</summary>
    public bool TryGetOwner(GrainId grainId, out SiloAddress owner)
    {
        ArgumentNullException.ThrowIfNull(grainId.Type);
        ArgumentNullException.ThrowIfNull(grainId.Key);
        return TryGetOwner(StableHash.OfGrain(grainId.Type, grainId.Key), out owner);
    }

    /// <summary>The silo that owns an arbitrary key (hashed like a grain's <c>type/key</c>), or <see langword="false"/> when there are no silos.</summary>
    public bool TryGetOwner(string key, out SiloAddress owner)
    {
        ArgumentNullException.ThrowIfNull(key);
        return TryGetOwner(StableHash.Fnv1a64(key), out owner);
    }

    private bool TryGetOwner(ulong keyHash, out SiloAddress owner)
    {
        if (_silos.Length == 0)
        {
            owner = default;
            return false;
        }

        // The silos are sorted, so a tie (2^-64 per pair) goes to the first one on every silo alike.
        var best = 0;
        var bestScore = StableHash.Mix(keyHash ^ _siloHashes[0]);
        for (var i = 1; i < _siloHashes.Length; i++)
        {
            var score = StableHash.Mix(keyHash ^ _siloHashes[i]);
            if (score > bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        owner = _silos[best];
        return true;
    }
}
