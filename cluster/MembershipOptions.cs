namespace Vehicles.Cluster;

/// <summary>
/// Settings of <see cref="MembershipService"/>. The defaults detect a killed silo within about 4 s: it is suspected
/// once its heartbeat is older than <see cref="SuspectAfter"/>, and the first refresh of each healthy silo after that
/// casts its vote. Heartbeats are written with the writer's clock and judged with the reader's (as in Orleans), so silo
/// clocks must agree to well within <see cref="SuspectAfter"/> minus <see cref="HeartbeatInterval"/> (NTP does).
/// </summary>
public sealed class MembershipOptions
{
    /// <summary>The PostgreSQL schema of the membership table; one per cluster.</summary>
    public string Schema { get; set; } = "vehicles_cluster";

    /// <summary>This silo's silo-to-silo endpoint (<c>host:port</c>), as other silos reach it.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>How often the silo writes its heartbeat and reads the table.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A silo whose last heartbeat is older than this is suspected and voted against.</summary>
    public TimeSpan SuspectAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Votes that declare a suspected silo dead; fewer suffice when fewer healthy silos are left to vote (a lone
    /// survivor declares its only peer dead by itself).
    /// </summary>
    public int VotesForDeath { get; set; } = 2;

    /// <summary>
    /// A silo that fails this many probes in a row (one per heartbeat round, over the gRPC layer) is voted against even if
    /// its heartbeat is fresh; one that stops heartbeating is voted against at once when a probe fails too.
    /// </summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>How long rows of dead silos stay in the table; they are removed when a silo starts.</summary>
    public TimeSpan DeadRowRetention { get; set; } = TimeSpan.FromHours(1);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Endpoint))
        {
            throw new ArgumentException("MembershipOptions.Endpoint is required: the host:port other silos reach this one at.");
        }

        if (HeartbeatInterval <= TimeSpan.Zero || SuspectAfter <= HeartbeatInterval)
        {
            throw new ArgumentException("MembershipOptions: HeartbeatInterval must be positive and SuspectAfter longer than it.");
        }

        if (VotesForDeath < 1)
        {
            throw new ArgumentException("MembershipOptions.VotesForDeath must be at least 1.");
        }
    }
}

/// <summary>The life cycle of a silo generation in the membership table; it only moves forward.</summary>
public enum SiloStatus
{
    /// <summary>Registered, not yet placing grains.</summary>
    Joining,

    /// <summary>Owns grains.</summary>
    Active,

    /// <summary>Leaving gracefully: owns no new grains.</summary>
    ShuttingDown,

    /// <summary>Gone for good; this generation never becomes active again.</summary>
    Dead,
}

/// <summary>
/// One row of the membership table at the read that produced its snapshot. Snapshots are replaced when statuses change,
/// not on every heartbeat, so <see cref="LastHeartbeat"/> and <see cref="Votes"/> age with the snapshot.
/// </summary>
/// <param name="Address">The silo generation.</param>
/// <param name="Status">Its status.</param>
/// <param name="LastHeartbeat">When it last wrote its heartbeat (its own clock).</param>
/// <param name="Votes">How many silos suspected it.</param>
/// <param name="Activations">Grain activations it reported with that heartbeat.</param>
public sealed record SiloEntry(SiloAddress Address, SiloStatus Status, DateTimeOffset LastHeartbeat, int Votes, long Activations = 0);

/// <summary>
/// What a silo knows about the cluster after one read of the membership table. <see cref="Version"/> grows with every
/// status change in the table, so two snapshots with the same version list the same statuses.
/// </summary>
public sealed class MembershipSnapshot
{
    /// <summary>A snapshot from before the first read.</summary>
    public static MembershipSnapshot Empty { get; } = new(-1, []);

    /// <summary>Creates a snapshot.</summary>
    public MembershipSnapshot(long version, IReadOnlyList<SiloEntry> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        Version = version;
        Members = members;
        ActiveSilos = [.. members.Where(m => m.Status == SiloStatus.Active).Select(m => m.Address)];
    }

    /// <summary>The table version this snapshot was read at.</summary>
    public long Version { get; }

    /// <summary>Every silo generation in the table, dead ones included until they are removed.</summary>
    public IReadOnlyList<SiloEntry> Members { get; }

    /// <summary>The silos that own grains: the input of placement.</summary>
    public IReadOnlyList<SiloAddress> ActiveSilos { get; }
}

/// <summary>
/// Asks a silo directly whether it is alive. The membership service consults it before voting against a silo whose
/// heartbeat is stale, so that a silo that cannot reach the database but still serves is not killed by mistake. The
/// gRPC implementation is the next step; until then <see cref="NoSiloProber"/> leaves the decision to heartbeats.
/// </summary>
public interface ISiloProber
{
    /// <summary>Whether <paramref name="silo"/> answered a probe; must not throw.</summary>
    Task<bool> ProbeAsync(SiloAddress silo, CancellationToken cancellationToken);
}

/// <summary>An <see cref="ISiloProber"/> that never gets an answer: stale heartbeats alone decide.</summary>
public sealed class NoSiloProber : ISiloProber
{
    /// <inheritdoc />
    public Task<bool> ProbeAsync(SiloAddress silo, CancellationToken cancellationToken) => Task.FromResult(false);
}
