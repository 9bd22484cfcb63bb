using Vehicles.Actors;

namespace Vehicles.Cluster;

/// <summary>
/// The actor runtime's <see cref="IPlacementDirector"/> over <see cref="RendezvousPlacement"/>. Membership swaps in a
/// new set of active silos with <see cref="Update(SiloAddress, IEnumerable{SiloAddress})"/>; lookups read one immutable
/// state without locking, so a change is atomic for every call that observes it. While this silo is not among the
/// active silos (joining, leaving, declared dead) it owns nothing.
/// </summary>
public sealed class RendezvousPlacementDirector : IPlacementDirector
{
    private State _state = new(default, RendezvousPlacement.Empty, 0);
    private volatile bool _leaving;

    /// <summary>This silo; <c>default</c> until the first update.</summary>
    public SiloAddress LocalSilo => Volatile.Read(ref _state).Local;

    /// <summary>The placement in force.</summary>
    public RendezvousPlacement Placement => Volatile.Read(ref _state).Placement;

    /// <summary>
    /// A director that follows <paramref name="membership"/>: it takes this silo's generation and the active silos from
    /// every snapshot (the first arrives while the membership service starts).
    /// </summary>
    public static RendezvousPlacementDirector FollowMembership(MembershipService membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        var director = new RendezvousPlacementDirector();
        membership.SnapshotChanged += (_, snapshot) => director.Update(membership.LocalSilo, snapshot.ActiveSilos);
        if (membership.Snapshot.Version >= 0)
        {
            director.Update(membership.LocalSilo, membership.Snapshot.ActiveSilos);
        }

        return director;
    }

    /// <summary>Places grains over <paramref name="activeSilos"/> from now on, this silo being <paramref name="localSilo"/>.</summary>
    public void Update(SiloAddress localSilo, IEnumerable<SiloAddress> activeSilos)
    {
        ArgumentException.ThrowIfNullOrEmpty(localSilo.Endpoint);
        ArgumentNullException.ThrowIfNull(activeSilos);
        if (_leaving)
        {
            activeSilos = activeSilos.Where(s => s != localSilo);
        }

        var current = Volatile.Read(ref _state);
        var next = new RendezvousPlacement(activeSilos);
        Volatile.Write(ref _state, next.Silos.SequenceEqual(current.Placement.Silos)
            ? current with { Local = localSilo }
            : new State(localSilo, next, Environment.TickCount64));
    }

    /// <summary>
    /// Milliseconds since the set of active silos last changed: shortly after a change, a silo asks the others to release
    /// a grain before it activates it (see <see cref="ClusterRuntime"/>).
    /// </summary>
    public long MillisecondsSinceChange => Environment.TickCount64 - Volatile.Read(ref _state).ChangedAt;

    /// <summary>Whether <see cref="BeginLeave"/> was called.</summary>
    public bool IsLeaving => _leaving;

    /// <summary>
    /// From now on this silo owns nothing, whatever membership still says: a leaving silo hands its grains over before it
    /// tells the others, so the new owners only ever see calls it forwards after each grain's state is written.
    /// </summary>
    public void BeginLeave()
    {
        _leaving = true;
        var state = Volatile.Read(ref _state);
        if (state.Local.Endpoint is not null)
        {
            Update(state.Local, state.Placement.Silos);
        }
    }

    /// <inheritdoc />
    public bool IsLocal(GrainId grainId)
    {
        var state = Volatile.Read(ref _state);
        return state.Placement.TryGetOwner(grainId, out var owner) && owner == state.Local;
    }

    /// <summary>The silo that owns <paramref name="grainId"/>, for the call transport; <see langword="false"/> while no silo is active.</summary>
    public bool TryGetOwner(GrainId grainId, out SiloAddress owner) => Placement.TryGetOwner(grainId, out owner);

    private sealed record State(SiloAddress Local, RendezvousPlacement Placement, long ChangedAt);
}
