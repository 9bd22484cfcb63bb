using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace Vehicles.Grains.Tests;

public sealed class GeoIndexTests
{
    // The sphere Redis measures on, written out here so the brute force does not borrow the index's constant.
    private const double CenterLatitude = 48.137;
    private const double CenterLongitude = 11.575;

    [Theory]
    [InlineData(5.0, 10_000)]
    [InlineData(20.0, 10_000)]
    [InlineData(20.0, 25)]
    [InlineData(80.0, 1)]
    public async Task NearbyAsync_OverRandomPoints_MatchesBruteForceHaversine(double radiusKm, int limit)
    {
        var index = new InMemoryVehicleGeoIndex();
        var points = RandomPoints(seed: 20261122, count: 3_000);
        foreach (var point in points)
        {
            index.UpdatePosition("fleet-a", point.Vin, point.Latitude, point.Longitude);
        }

        var nearby = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, radiusKm, limit, CancellationToken.None);

        var expected = points
            .Select(p => (p.Vin, DistanceKm: Haversine.DistanceKm(CenterLatitude, CenterLongitude, p.Latitude, p.Longitude)))
            .Where(p => p.DistanceKm <= radiusKm)
            .OrderBy(p => p.DistanceKm)
            .ThenBy(p => p.Vin, StringComparer.Ordinal)
            .Take(limit)
            .ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(p => p.Vin), nearby.Select(n => n.Vin));
        Assert.All(expected.Zip(nearby), pair => Assert.Equal(pair.First.DistanceKm, pair.Second.DistanceKm, 1e-9));
        var byVin = points.ToDictionary(p => p.Vin);
        Assert.All(nearby, n => Assert.Equal((byVin[n.Vin].Latitude, byVin[n.Vin].Longitude), (n.Latitude, n.Longitude)));
    }

    [Fact]
    public async Task NearbyAsync_WithRadius_ReturnsEveryVehicleInsideAndNoneOutside()
    {
        var index = new InMemoryVehicleGeoIndex();
        var points = RandomPoints(seed: 7, count: 2_000);
        foreach (var point in points)
        {
            index.UpdatePosition("fleet-a", point.Vin, point.Latitude, point.Longitude);
        }

        var nearby = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 15, 10_000, CancellationToken.None);

        var inside = points.Where(p => Haversine.DistanceKm(CenterLatitude, CenterLongitude, p.Latitude, p.Longitude) <= 15).Select(p => p.Vin).ToHashSet();
        Assert.InRange(inside.Count, 100, points.Count - 100);
        Assert.Equal(inside, nearby.Select(n => n.Vin).ToHashSet());
        Assert.All(nearby, n => Assert.InRange(n.DistanceKm, 0, 15));
    }

    [Fact]
    public async Task NearbyAsync_WithLimit_ReturnsTheNearestInOrder()
    {
        var index = new InMemoryVehicleGeoIndex();
        index.UpdatePosition("fleet-a", "FAR", CenterLatitude + 0.05, CenterLongitude);
        index.UpdatePosition("fleet-a", "NEAR", CenterLatitude + 0.01, CenterLongitude);
        index.UpdatePosition("fleet-a", "MIDDLE", CenterLatitude + 0.03, CenterLongitude);

        var two = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 50, 2, CancellationToken.None);
        var all = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 50, 10, CancellationToken.None);

        Assert.Equal(["NEAR", "MIDDLE"], two.Select(n => n.Vin));
        Assert.Equal(["NEAR", "MIDDLE", "FAR"], all.Select(n => n.Vin));
        Assert.Equal(1.112, all[0].DistanceKm, 0.001);
    }

    [Fact]
    public async Task NearbyAsync_WhenDistancesTie_OrdersByVin()
    {
        var index = new InMemoryVehicleGeoIndex();
        foreach (var vin in new[] { "VIN-C", "VIN-A", "VIN-B" })
        {
            index.UpdatePosition("fleet-a", vin, CenterLatitude + 0.01, CenterLongitude);
        }

        var nearby = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 5, 10, CancellationToken.None);

        Assert.Equal(["VIN-A", "VIN-B", "VIN-C"], nearby.Select(n => n.Vin));
    }

    [Fact]
    public async Task NearbyAsync_OtherFleetsVehicles_AreNotFound()
    {
        var index = new InMemoryVehicleGeoIndex();
        index.UpdatePosition("fleet-a", "OURS", CenterLatitude, CenterLongitude);
        index.UpdatePosition("fleet-b", "THEIRS", CenterLatitude, CenterLongitude);

        var fleetA = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 1, 10, CancellationToken.None);
        var fleetC = await index.NearbyAsync("fleet-c", CenterLatitude, CenterLongitude, 1, 10, CancellationToken.None);

        Assert.Equal(["OURS"], fleetA.Select(n => n.Vin));
        Assert.Empty(fleetC);
    }

    [Fact]
    public async Task UpdatePosition_Again_MovesTheVehicle_AndRemoveAsyncDropsIt()
    {
        var index = new InMemoryVehicleGeoIndex();
        index.UpdatePosition("fleet-a", "VIN1", CenterLatitude + 1, CenterLongitude);
        index.UpdatePosition("fleet-a", "VIN2", CenterLatitude, CenterLongitude);

        index.UpdatePosition("fleet-a", "VIN1", CenterLatitude, CenterLongitude + 0.001);
        var afterMove = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 1, 10, CancellationToken.None);
        await index.RemoveAsync("fleet-a", "VIN2", CancellationToken.None);
        var afterRemove = await index.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 1, 10, CancellationToken.None);

        Assert.Equal(["VIN2", "VIN1"], afterMove.Select(n => n.Vin));
        Assert.Equal(["VIN1"], afterRemove.Select(n => n.Vin));
    }

    [Fact]
    public void DistanceKm_AntipodalPoints_IsHalfTheCircumference()
    {
        Assert.Equal(Math.PI * Haversine.EarthRadiusKm, InMemoryVehicleGeoIndex.DistanceKm(0, 0, 0, 180), 1e-6);
        Assert.Equal(0, InMemoryVehicleGeoIndex.DistanceKm(CenterLatitude, CenterLongitude, CenterLatitude, CenterLongitude));
    }

    [Fact]
    public async Task InvalidArguments_Throw()
    {
        var index = new InMemoryVehicleGeoIndex();

        Assert.Throws<ArgumentOutOfRangeException>(() => index.UpdatePosition("fleet-a", "VIN1", 90.5, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.UpdatePosition("fleet-a", "VIN1", 0, -180.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.UpdatePosition("fleet-a", "VIN1", double.NaN, 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => index.NearbyAsync("fleet-a", 0, 0, 0, 10, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => index.NearbyAsync("fleet-a", 0, 0, double.NaN, 10, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => index.NearbyAsync("fleet-a", 0, 0, 1, 0, CancellationToken.None));
    }

    [Fact]
    public async Task Report_WithPositionAndFleet_FeedsTheIndex_AndAFleetChangeMovesIt()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var geo = host.Silo.GetRequiredService<IVehicleGeoIndex>();
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();

        await vehicle.ReportAsync(Build.Report(1, t0, s => s.Speed = 10), "fleet-a");
        var beforePosition = await geo.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 10, 10, CancellationToken.None);
        await vehicle.ReportAsync(Build.Report(2, t0, s =>
        {
            s.Latitude = CenterLatitude + 0.01;
            s.Longitude = CenterLongitude;
        }), "fleet-a");
        var inFleetA = await geo.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 10, 10, CancellationToken.None);
        await vehicle.ReportAsync(Build.Report(3, t0, s => s.Speed = 20), "fleet-b");
        var leftFleetA = await geo.NearbyAsync("fleet-a", CenterLatitude, CenterLongitude, 10, 10, CancellationToken.None);
        var inFleetB = await geo.NearbyAsync("fleet-b", CenterLatitude, CenterLongitude, 10, 10, CancellationToken.None);

        Assert.Empty(beforePosition);
        var found = Assert.Single(inFleetA);
        Assert.Equal(Build.Vin, found.Vin);
        Assert.Equal(1.112, found.DistanceKm, 0.001);
        Assert.Empty(leftFleetA);
        Assert.Equal([Build.Vin], inFleetB.Select(n => n.Vin));
    }

    [Fact]
    public async Task Report_WhenTheGeoIndexFails_IsStillAppliedAndAcked()
    {
        var failing = new FailingGeoIndex();
        using var settings = ClusterSettings.Sqlite();
        settings.ConfigureServices = services => services.AddSingleton<IVehicleGeoIndex>(failing);
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();

        var first = await vehicle.ReportAsync(Build.Report(1, t0, s =>
        {
            s.Latitude = 89.5;
            s.Longitude = 0;
        }), "fleet-a");
        var second = await vehicle.ReportAsync(Build.Report(2, t0, s => s.Speed = 30), "fleet-b");
        var state = await vehicle.GetAsync();

        Assert.Equal(1UL, first.Ack.Sequence);
        Assert.Equal(2UL, second.Ack.Sequence);
        Assert.Equal("fleet-b", state!.FleetId);
        Assert.Equal(89.5, state.Signals.Latitude);
        Assert.Equal(30, state.Signals.Speed);
        await Eventually.TrueAsync(() => Task.FromResult(failing.RemovalCount == 1), "the removal from fleet-a, which is not awaited by the grain");
        Assert.Equal(["fleet-a/" + Build.Vin], failing.Removals);
        Assert.Equal(2, failing.Updates);
    }

    private static List<(string Vin, double Latitude, double Longitude)> RandomPoints(int seed, int count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => (Vin: "VIN" + i.ToString("D5", CultureInfo.InvariantCulture),
                Latitude: CenterLatitude + (random.NextDouble() - 0.5),
                Longitude: CenterLongitude + ((random.NextDouble() - 0.5) * 1.5)))
            .ToList();
    }

    /// <summary>An index whose store is down and that cannot hold the positions it is given, as Redis near a pole.</summary>
    private sealed class FailingGeoIndex : IVehicleGeoIndex
    {
        private int _updates;

        public List<string> Removals { get; } = [];

        public int Updates => Volatile.Read(ref _updates);

        public int RemovalCount
        {
            get
            {
                lock (Removals)
                {
                    return Removals.Count;
                }
            }
        }

        public void UpdatePosition(string fleetId, string vin, double latitude, double longitude)
        {
            Interlocked.Increment(ref _updates);
            throw new ArgumentOutOfRangeException(nameof(latitude), latitude, "Latitude must be within ±85.05112878.");
        }

        public Task RemoveAsync(string fleetId, string vin, CancellationToken cancellationToken)
        {
            lock (Removals)
            {
                Removals.Add(fleetId + "/" + vin);
            }

            return Task.FromException(new FeatureUnavailableException("geo", "Redis cannot be reached or did not answer in time"));
        }

        public Task<IReadOnlyList<NearbyVehicle>> NearbyAsync(
            string fleetId, double latitude, double longitude, double radiusKm, int limit, CancellationToken cancellationToken) =>
            Task.FromException<IReadOnlyList<NearbyVehicle>>(new FeatureUnavailableException("geo", "Redis cannot be reached or did not answer in time"));
    }
}
