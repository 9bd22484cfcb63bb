using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Vehicles.Grains;

namespace Vehicles.Redis.Tests;

/// <summary>The cluster's geo index (Redis) and the single silo's (memory) answer the same query the same way.</summary>
public sealed class GeoIndexParityTests : IAsyncLifetime
{
    private const double CenterLatitude = 48.137;
    private const double CenterLongitude = 11.575;

    // Redis keeps 52-bit geohashes (about 0.6 m) and answers distances to 0.1 m: points closer than this to the
    // radius or to each other in distance could legitimately come out either way, so the test data avoids them.
    private const double AmbiguityKm = 0.005;

    private readonly string _prefix = TestServers.UniqueName("geo-parity-");
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisConnector.ConnectAsync(TestServers.Redis);

    public async Task DisposeAsync()
    {
        await _redis.GetDatabase().KeyDeleteAsync(new RedisKey[] { _prefix + ":geo:fleet-1", _prefix + ":geo:fleet-2" });
        _redis.Dispose();
    }

    [Theory]
    [InlineData(5.0, 1000)]
    [InlineData(15.0, 1000)]
    [InlineData(15.0, 10)]
    [InlineData(40.0, 1)]
    public async Task NearbyAsync_RedisAndInMemory_ReturnTheSameVehiclesInTheSameOrder(double radiusKm, int limit)
    {
        await using var redisIndex = new RedisGeoIndex(
            _redis,
            Options.Create(new RedisOptions { KeyPrefix = _prefix }),
            new FakeTimeProvider(DateTimeOffset.UnixEpoch),
            NullLogger<RedisGeoIndex>.Instance);
        IVehicleGeoIndex[] indexes = [redisIndex, new InMemoryVehicleGeoIndex()];
        var points = UnambiguousPoints(seed: 42, count: 1_500, radiusKm);
        foreach (var index in indexes)
        {
            foreach (var point in points)
            {
                index.UpdatePosition("fleet-1", point.Vin, point.Latitude, point.Longitude);
            }

            index.UpdatePosition("fleet-2", "OTHER-FLEET", CenterLatitude, CenterLongitude);
        }

        await redisIndex.FlushAsync();

        var redisAnswer = await indexes[0].NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, radiusKm, limit, CancellationToken.None);
        var memoryAnswer = await indexes[1].NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, radiusKm, limit, CancellationToken.None);

        Assert.NotEmpty(memoryAnswer);
        Assert.Equal(memoryAnswer.Select(n => n.Vin), redisAnswer.Select(n => n.Vin));
        Assert.All(memoryAnswer.Zip(redisAnswer), pair =>
        {
            Assert.Equal(pair.First.DistanceKm, pair.Second.DistanceKm, 0.002);
            Assert.Equal(pair.First.Latitude, pair.Second.Latitude, 0.00001);
            Assert.Equal(pair.First.Longitude, pair.Second.Longitude, 0.00001);
        });
    }

    [Fact]
    public async Task NearbyAsync_WhenDistancesTie_BothOrderByVin()
    {
        await using var redisIndex = new RedisGeoIndex(
            _redis,
            Options.Create(new RedisOptions { KeyPrefix = _prefix }),
            new FakeTimeProvider(DateTimeOffset.UnixEpoch),
            NullLogger<RedisGeoIndex>.Instance);
        IVehicleGeoIndex[] indexes = [redisIndex, new InMemoryVehicleGeoIndex()];
        foreach (var index in indexes)
        {
            foreach (var vin in new[] { "VIN-C", "VIN-A", "VIN-D", "VIN-B" })
            {
                index.UpdatePosition("fleet-1", vin, CenterLatitude + 0.01, CenterLongitude);
            }
        }

        await redisIndex.FlushAsync();

        var redisAnswer = await indexes[0].NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, 5, 10, CancellationToken.None);
        var memoryAnswer = await indexes[1].NearbyAsync("fleet-1", CenterLatitude, CenterLongitude, 5, 10, CancellationToken.None);

        Assert.Equal(["VIN-A", "VIN-B", "VIN-C", "VIN-D"], redisAnswer.Select(n => n.Vin));
        Assert.Equal(["VIN-A", "VIN-B", "VIN-C", "VIN-D"], memoryAnswer.Select(n => n.Vin));
    }

    /// <summary>Seeded random points around the centre, leaving out any too close to the radius or to another's distance.</summary>
    private static List<(string Vin, double Latitude, double Longitude)> UnambiguousPoints(int seed, int count, double radiusKm)
    {
        var random = new Random(seed);
        var kept = new List<(string Vin, double Latitude, double Longitude)>();
        var distances = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var latitude = CenterLatitude + (random.NextDouble() - 0.5);
            var longitude = CenterLongitude + ((random.NextDouble() - 0.5) * 1.5);
            var distance = InMemoryVehicleGeoIndex.DistanceKm(CenterLatitude, CenterLongitude, latitude, longitude);
            if (Math.Abs(distance - radiusKm) < AmbiguityKm || distances.Exists(d => Math.Abs(d - distance) < AmbiguityKm))
            {
                continue;
            }

            distances.Add(distance);
            kept.Add(("VIN" + i.ToString("D5", CultureInfo.InvariantCulture), latitude, longitude));
        }

        return kept;
    }
}
