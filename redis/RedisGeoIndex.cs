using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Vehicles.Grains;

namespace Vehicles.Redis;

/// <summary>
/// Vehicle positions per fleet in Redis geo sets (<c>{prefix}:geo:{fleetId}</c>), for "vehicles near a point" queries
/// that span silos. Position updates are throttled: they are held in memory and written once per
/// <see cref="RedisOptions.GeoWriteInterval"/> as one GEOADD per fleet, so a vehicle is written at most once per
/// interval, with its last position. Queries fail fast with <see cref="FeatureUnavailableException"/> while Redis is
/// unreachable; updates made meanwhile are dropped and counted, and the next ones land once Redis is back.
/// </summary>
public sealed partial class RedisGeoIndex : IVehicleGeoIndex, IAsyncDisposable
{
    /// <summary>The feature name carried by <see cref="FeatureUnavailableException"/>.</summary>
    public const string FeatureName = "geo";

    private int _disposed;

    // Redis geo sets cover the Web Mercator latitudes only.
    private const double MaxLatitude = 85.05112878;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisOptions _options;
    private readonly ILogger<RedisGeoIndex> _logger;
    private readonly string _keyPrefix;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _flusher;
    private Dictionary<(string FleetId, string Vin), GeoPosition> _pending = [];
    private long _written;
    private long _dropped;

    /// <summary>Creates the index over a shared connection (see <see cref="RedisConnector"/>) and starts its flush timer.</summary>
    public RedisGeoIndex(IConnectionMultiplexer redis, IOptions<RedisOptions> options, TimeProvider timeProvider, ILogger<RedisGeoIndex> logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _options.Validate();
        _redis = redis;
        _logger = logger;
        _keyPrefix = _options.KeyPrefix + ":geo:";
        _flusher = FlushPeriodicallyAsync(timeProvider, _stop.Token);
    }

    /// <summary>Positions written to Redis.</summary>
    public long WrittenCount => Interlocked.Read(ref _written);

    /// <summary>Positions not written because Redis was unreachable.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Records a vehicle's position; it reaches Redis at the next flush. Never blocks on Redis.</summary>
    public void UpdatePosition(string fleetId, string vin, double latitude, double longitude)
    {
        ArgumentException.ThrowIfNullOrEmpty(fleetId);
        ArgumentException.ThrowIfNullOrEmpty(vin);
        ValidateCoordinates(latitude, longitude);
        lock (_gate)
        {
            _pending[(fleetId, vin)] = new GeoPosition(longitude, latitude);
        }
    }

    /// <summary>Removes a vehicle from its fleet's index (it left the fleet or was deleted); a pending position is discarded.</summary>
    /// <exception cref="FeatureUnavailableException">Redis is unreachable or did not answer in time.</exception>
    public async Task RemoveAsync(string fleetId, string vin, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(fleetId);
        ArgumentException.ThrowIfNullOrEmpty(vin);
        lock (_gate)
        {
            _pending.Remove((fleetId, vin));
        }

        if (!_redis.IsConnected)
        {
            throw Unavailable(null);
        }

        try
        {
            await _redis.GetDatabase().GeoRemoveAsync(_keyPrefix + fleetId, vin).WaitAsync(_options.OperationTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>
    /// Vehicles of <paramref name="fleetId"/> within <paramref name="radiusKm"/> of a point, nearest first, at most
    /// <paramref name="limit"/>.
    /// </summary>
    /// <exception cref="FeatureUnavailableException">Redis is unreachable or did not answer within <see cref="RedisOptions.OperationTimeout"/>.</exception>
    public async Task<IReadOnlyList<NearbyVehicle>> NearbyAsync(string fleetId, double latitude, double longitude, double radiusKm, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(fleetId);
        ValidateCoordinates(latitude, longitude);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(radiusKm);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (!_redis.IsConnected)
        {
            throw Unavailable(null);
        }

        GeoRadiusResult[] results;
        try
        {
            // GEOSEARCH … FROMLONLAT BYRADIUS … ASC COUNT n (without ANY: the n nearest) WITHCOORD WITHDIST.
            results = await _redis.GetDatabase()
                .GeoSearchAsync(
                    _keyPrefix + fleetId,
                    longitude,
                    latitude,
                    new GeoSearchCircle(radiusKm, GeoUnit.Kilometers),
                    count: limit,
                    demandClosest: true,
                    order: Order.Ascending,
                    options: GeoRadiusOptions.WithDistance | GeoRadiusOptions.WithCoordinates)
                .WaitAsync(_options.OperationTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(ex);
        }

        var nearby = new NearbyVehicle[results.Length];
        for (var i = 0; i < results.Length; i++)
        {
            var position = results[i].Position ?? default;
            nearby[i] = new NearbyVehicle(results[i].Member!, results[i].Distance ?? 0, position.Latitude, position.Longitude);
        }

        // Redis sorts by distance only (rounded to 0.1 m); equal distances go by VIN, as IVehicleGeoIndex promises.
        Array.Sort(nearby, static (a, b) =>
        {
            var byDistance = a.DistanceKm.CompareTo(b.DistanceKm);
            return byDistance != 0 ? byDistance : string.CompareOrdinal(a.Vin, b.Vin);
        });
        return nearby;
    }

    /// <summary>Writes the pending positions now (the timer calls this every interval; tests and shutdown call it directly).</summary>
    public async Task FlushAsync()
    {
        await _flushGate.WaitAsync();
        try
        {
            Dictionary<(string FleetId, string Vin), GeoPosition> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    return;
                }

                batch = _pending;
                _pending = [];
            }

            if (!_redis.IsConnected)
            {
                Interlocked.Add(ref _dropped, batch.Count);
                return;
            }

            var database = _redis.GetDatabase();
            var writes = new List<(Task<long> Task, int Count)>();
            foreach (var fleet in batch.GroupBy(p => p.Key.FleetId, StringComparer.Ordinal))
            {
                var entries = fleet.Select(p => new GeoEntry(p.Value.Longitude, p.Value.Latitude, p.Key.Vin)).ToArray();
                writes.Add((database.GeoAddAsync(_keyPrefix + fleet.Key, entries), entries.Length));
            }

            foreach (var (task, count) in writes)
            {
                try
                {
                    await task.WaitAsync(_options.OperationTimeout);
                    Interlocked.Add(ref _written, count);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    Interlocked.Add(ref _dropped, count);
                    LogWriteFailed(_logger, ex, count);
                }
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>Stops the flush timer after a last flush. Safe to call more than once (a container may own it under two service types).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        await _flusher;
        await FlushAsync();
        _stop.Dispose();
        _flushGate.Dispose();
    }

    private async Task FlushPeriodicallyAsync(TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.GeoWriteInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static FeatureUnavailableException Unavailable(Exception? inner)
        => new(FeatureName, "Redis cannot be reached or did not answer in time", inner);

    private static void ValidateCoordinates(double latitude, double longitude)
    {
        if (!(Math.Abs(latitude) <= MaxLatitude))
        {
            throw new ArgumentOutOfRangeException(nameof(latitude), latitude, $"Latitude must be within ±{MaxLatitude}.");
        }

        if (!(Math.Abs(longitude) <= 180))
        {
            throw new ArgumentOutOfRangeException(nameof(longitude), longitude, "Longitude must be within ±180.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} vehicle positions to Redis failed")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int count);
}
