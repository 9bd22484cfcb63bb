using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Vehicles.Grains;
using Vehicles.Testing;

namespace Vehicles.Redis.Tests;

public sealed class RedisGeoIndexTests : IAsyncLifetime
{
    // The Earth radius Redis uses for geo distances.
    private const double CenterLatitude = 48.137;
    private const double CenterLongitude = 11.575;

    private readonly string _prefix = TestServers.UniqueName("redis-test-");
    private readonly List<IAsyncDisposable> _disposables = [];
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisConnector.ConnectAsync(TestServers.Redis);

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await _redis.GetDatabase().KeyDeleteAsync(new RedisKey[] { _prefix + ":geo:fleet-1", _prefix + ":geo:fleet-2" });
        _redis.Dispose();
    }

    [Fact]
    public async Task NearbyAsync_OverRandomPoints_MatchesBruteForceHaversineNearestFirst()
    {
        var index = CreateIndex(_redis, new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        var random = new Random(20261122);
        var points = Enumerable.Range(0, 2_000)
            .Select(i => (Vin: "VIN" + i.ToString("D5", CultureInfo.InvariantCulture),
                Latitude: CenterLatitude + (random.NextDouble() - 0.5),
                Longitude: CenterLongitude + (random.NextDouble() - 0.5) * 1.5))
            .ToList();
        foreach (var point in points)
        {
            index.UpdatePosition("fleet-1", point.Vin, point.Latitude, point.Longitude);
        }

        index.UpdatePosition("fleet-2", "OTHER-FLEET", CenterLatitude, CenterLongitude);
        await index.FlushAsync();

        var nearby = await index.NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, 20, 10_000, CancellationToken.None);
        var nearest = await index.NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, 20, 10, CancellationToken.None);

        var expected = points
            .Select(p => (p.Vin, DistanceKm: Haversine.DistanceKm(CenterLatitude, CenterLongitude, p.Latitude, p.Longitude)))
            .OrderBy(p => p.DistanceKm)
            .ToList();

        // Redis stores 52-bit geohashes (about 0.6 m): points within a few metres of the edge may fall either way.
        var certainlyInside = expected.Where(p => p.DistanceKm < 20 - 0.01).Select(p => p.Vin).ToHashSet();
        var possiblyInside = expected.Where(p => p.DistanceKm < 20 + 0.01).Select(p => p.Vin).ToHashSet();
        Assert.True(certainlyInside.Count > 100, "the random points should put a few hundred inside the radius");
        Assert.Subset(possiblyInside, nearby.Select(n => n.Vin).ToHashSet());
        Assert.Superset(certainlyInside, nearby.Select(n => n.Vin).ToHashSet());
        var byVin = expected.ToDictionary(p => p.Vin, p => p.DistanceKm);
        Assert.All(nearby, n => Assert.Equal(byVin[n.Vin], n.DistanceKm, 0.005));
        Assert.Equal(nearby.Select(n => n.DistanceKm).Order(), nearby.Select(n => n.DistanceKm));
        Assert.Equal(expected.Take(10).Select(p => p.Vin), nearest.Select(n => n.Vin));
        Assert.Equal(points.Count + 1, index.WrittenCount);
    }

    [Fact]
    public async Task UpdatePosition_ManyTimesWithinInterval_WritesOnceWithTheLastPosition()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var index = CreateIndex(_redis, clock);
        var key = (RedisKey)(_prefix + ":geo:fleet-1");

        for (var i = 0; i < 50; i++)
        {
            index.UpdatePosition("fleet-1", "VIN1", CenterLatitude + i * 0.001, CenterLongitude);
        }

        var beforeInterval = await _redis.GetDatabase().GeoPositionAsync(key, "VIN1");
        clock.Advance(TimeSpan.FromSeconds(1));
        var written = await RedisVehicleEventBusTests.WaitUntilAsync(() => index.WrittenCount == 1);
        var afterInterval = await _redis.GetDatabase().GeoPositionAsync(key, "VIN1");

        Assert.Null(beforeInterval);
        Assert.True(written, "the flush timer did not write the pending position");
        Assert.Equal(1, index.WrittenCount);
        Assert.NotNull(afterInterval);
        Assert.Equal(CenterLatitude + 49 * 0.001, afterInterval.Value.Latitude, 0.00001);
        Assert.Equal(CenterLongitude, afterInterval.Value.Longitude, 0.00001);
    }

    [Fact]
    public async Task RemoveAsync_AfterWrite_VehicleNoLongerFound()
    {
        var index = CreateIndex(_redis, new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        index.UpdatePosition("fleet-1", "VIN1", CenterLatitude, CenterLongitude);
        index.UpdatePosition("fleet-1", "VIN2", CenterLatitude + 0.01, CenterLongitude);
        await index.FlushAsync();

        await index.RemoveAsync("fleet-1", "VIN1", CancellationToken.None);
        var nearby = await index.NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, 5, 10, CancellationToken.None);

        var only = Assert.Single(nearby);
        Assert.Equal("VIN2", only.Vin);
        Assert.Equal(1.113, only.DistanceKm, 0.01);
    }

    [Fact]
    public async Task NearbyAsync_WhenRedisIsDown_ThrowsFeatureUnavailable()
    {
        using var unreachable = await RedisVehicleEventBusTests.ConnectToClosedPortAsync();
        var index = CreateIndex(unreachable, new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        index.UpdatePosition("fleet-1", "VIN1", CenterLatitude, CenterLongitude);

        var error = await Assert.ThrowsAsync<FeatureUnavailableException>(
            () => index.NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, 5, 10, CancellationToken.None));
        await index.FlushAsync();

        Assert.Equal(RedisGeoIndex.FeatureName, error.Feature);
        Assert.Equal(1, index.DroppedCount);
    }

    [Fact]
    public void UpdatePosition_OutsideGeoRange_Throws()
    {
        var index = CreateIndex(_redis, new FakeTimeProvider(DateTimeOffset.UnixEpoch));

        Assert.Throws<ArgumentOutOfRangeException>(() => index.UpdatePosition("fleet-1", "VIN1", 89.0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.UpdatePosition("fleet-1", "VIN1", 0, 181));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.UpdatePosition("fleet-1", "VIN1", double.NaN, 0));
    }

    private RedisGeoIndex CreateIndex(IConnectionMultiplexer redis, TimeProvider clock)
    {
        var index = new RedisGeoIndex(
            redis,
            Options.Create(new RedisOptions { KeyPrefix = _prefix, GeoWriteInterval = TimeSpan.FromSeconds(1) }),
            clock,
            NullLogger<RedisGeoIndex>.Instance);
        _disposables.Add(index);
        return index;
    }

}
