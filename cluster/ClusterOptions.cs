using System.Security.Cryptography;
using System.Text;

namespace Vehicles.Cluster;

/// <summary>
/// The <c>Cluster</c> configuration section. Off by default: a silo runs alone on its embedded storage. On, the silo
/// joins the cluster named by <see cref="Schema"/> on the PostgreSQL of <c>Storage:ConnectionString</c>, places grains
/// over the active silos, forwards calls and pushes to the owning silo, and publishes change events through Redis.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Cluster";

    /// <summary>Whether this silo is part of a cluster. Requires <c>Storage:Provider=PostgreSql</c>, <see cref="Redis"/> and <c>Tokens:SigningKey</c>.</summary>
    public bool Enabled { get; set; }

    /// <summary>PostgreSQL schema of the membership table: one per cluster.</summary>
    public string Schema { get; set; } = "vehicles_cluster";

    /// <summary>The <c>host:port</c> other silos reach this one at; defaults to <c>Grpc:Address</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>StackExchange.Redis configuration string of the Redis server (for example <c>127.0.0.1:6379</c>).</summary>
    public string? Redis { get; set; }

    /// <summary>Prefix of every Redis key and channel, so that clusters can share a Redis.</summary>
    public string RedisKeyPrefix { get; set; } = "vehicles";

    /// <summary>How often a silo heartbeats, reads the membership table and probes the others.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A silo whose heartbeat is older than this, and that fails a probe, is voted against.</summary>
    public TimeSpan SuspectAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Probes in a row a silo may miss before it is voted against although it heartbeats.</summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>Votes that declare a silo dead (fewer when fewer healthy silos are left).</summary>
    public int VotesForDeath { get; set; } = 2;

    /// <summary>How long a probe may take.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How many times a call may be passed on by silos whose placement view differs from the sender's (views converge
    /// within a heartbeat); the silo that receives it after that many hops runs it. With the default of 1, a silo that
    /// forwards a call is trusted: a leaving silo forwards each call to the grain's new owner, which runs it even if
    /// it has not yet read the leaver's new status.
    /// </summary>
    public int MaxForwardHops { get; set; } = 1;

    /// <summary>Most grain calls (or results) in one message between two silos.</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>
    /// How long a leaving silo keeps forwarding calls after it handed its grains over, so that silos that have not yet
    /// read its new status lose no call. Default: two heartbeat intervals plus one second.
    /// </summary>
    public TimeSpan? HandoverGrace { get; set; }

    internal TimeSpan EffectiveHandoverGrace => HandoverGrace ?? (2 * HeartbeatInterval) + TimeSpan.FromSeconds(1);

    /// <summary>
    /// The key silos present to each other: derived from the token signing key they share, so it needs no configuration
    /// of its own and is never the signing key itself.
    /// </summary>
    public static string DeriveClusterKey(string signingKeyBase64)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingKeyBase64);
        var mac = HMACSHA256.HashData(Convert.FromBase64String(signingKeyBase64), Encoding.UTF8.GetBytes("vehicles.cluster.v1/silo-key"));
        return Convert.ToBase64String(mac);
    }
}
