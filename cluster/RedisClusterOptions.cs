using StackExchange.Redis;
using Vehicles.Grains;

namespace Vehicles.Cluster;

/// <summary>Settings of the Redis-backed cluster features (<see cref="RedisVehicleEventBus"/>, <see cref="RedisGeoIndex"/>).</summary>
public sealed class RedisClusterOptions
{
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
            throw new ArgumentException("RedisClusterOptions.KeyPrefix must not contain glob characters (* ? [ ] \\).", nameof(KeyPrefix));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(OutboundQueueCapacity, 1, nameof(OutboundQueueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(GeoWriteInterval, TimeSpan.Zero, nameof(GeoWriteInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(OperationTimeout, TimeSpan.Zero, nameof(OperationTimeout));
    }
}

/// <summary>Opens the shared Redis connection the way the cluster features expect it.</summary>
public static class RedisConnector
{
    /// <summary>
    /// Connects with <c>abortConnect=false</c>: the silo starts even while Redis is down, the Redis features report
    /// unavailable meanwhile, and the multiplexer reconnects (and restores subscriptions) by itself.
    /// </summary>
    /// <param name="configuration">A StackExchange.Redis configuration string, such as <c>127.0.0.1:6379</c>.</param>
    public static async Task<ConnectionMultiplexer> ConnectAsync(string configuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }
}
