using StackExchange.Redis;
using Vehicles.Grains;

namespace Vehicles.Redis;

/// <summary>
/// Settings of the Redis-backed features (<see cref="RedisVehicleEventBus"/>, <see cref="RedisGeoIndex"/>).
/// <see cref="RedisServiceCollectionExtensions.AddVehiclesRedis"/> binds <see cref="Configuration"/> from
/// <c>Cluster:Redis</c> and <see cref="KeyPrefix"/> from <c>Cluster:RedisKeyPrefix</c>; the rest keep their defaults
/// unless set in code (<c>services.Configure&lt;RedisOptions&gt;(...)</c>).
/// </summary>
public sealed class RedisOptions
{
    /// <summary>The configuration key of <see cref="Configuration"/>.</summary>
    public const string ConfigurationKey = "Cluster:Redis";

    /// <summary>The configuration key of <see cref="KeyPrefix"/>.</summary>
    public const string KeyPrefixKey = "Cluster:RedisKeyPrefix";

    /// <summary>StackExchange.Redis configuration string of the Redis server, such as <c>127.0.0.1:6379</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Prefix of every channel and key, so that several clusters (or test runs) can share one Redis. No glob characters
    /// (<c>* ? [ ] \</c>): the all-fleets subscription is a pattern built on it.
    /// </summary>
    public string KeyPrefix { get; set; } = "vehicles";

    /// <summary>Events waiting to go out to Redis; when full, new events are dropped (and counted) rather than blocking a grain.</summary>
    public int OutboundQueueCapacity { get; set; } = 10_000;

    /// <summary>At most one position write per vehicle per interval; the last position of the interval wins.</summary>
    public TimeSpan GeoWriteInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a geo query may take before it fails with <see cref="FeatureUnavailableException"/>.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(KeyPrefix, nameof(KeyPrefix));
        if (KeyPrefix.AsSpan().IndexOfAny("*?[]\\") >= 0)
        {
            throw new ArgumentException("RedisOptions.KeyPrefix must not contain glob characters (* ? [ ] \\).", nameof(KeyPrefix));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(OutboundQueueCapacity, 1, nameof(OutboundQueueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(GeoWriteInterval, TimeSpan.Zero, nameof(GeoWriteInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(OperationTimeout, TimeSpan.Zero, nameof(OperationTimeout));
    }
}

/// <summary>Opens the shared Redis connection the way the Redis features expect it.</summary>
public static class RedisConnector
{
    /// <summary>
    /// Connects with <c>abortConnect=false</c>: the silo starts even while Redis is down, the Redis features report
    /// unavailable meanwhile, and the multiplexer reconnects (and restores subscriptions) by itself. Commands made while
    /// disconnected fail at once instead of waiting in the multiplexer's backlog (<see cref="BacklogPolicy.FailFast"/>):
    /// a late event or position is worth less than a dropped one, and a query must fail fast.
    /// </summary>
    /// <param name="configuration">A StackExchange.Redis configuration string, such as <c>127.0.0.1:6379</c>.</param>
    public static async Task<ConnectionMultiplexer> ConnectAsync(string configuration)
        => await ConnectionMultiplexer.ConnectAsync(CreateOptions(configuration));

    /// <summary>The same as <see cref="ConnectAsync"/>, for a service container's factory, which cannot await.</summary>
    /// <param name="configuration">A StackExchange.Redis configuration string, such as <c>127.0.0.1:6379</c>.</param>
    public static ConnectionMultiplexer Connect(string configuration)
        => ConnectionMultiplexer.Connect(CreateOptions(configuration));

    private static ConfigurationOptions CreateOptions(string configuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
    }
}
