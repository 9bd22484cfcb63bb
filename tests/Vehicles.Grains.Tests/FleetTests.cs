namespace Vehicles.Grains.Tests;

public sealed class FleetTests
{
    private static readonly string[] _vins =
    [
        "1HGCM82633A000005", "1HGCM82633A000001", "1HGCM82633A000004", "1HGCM82633A000002", "1HGCM82633A000003",
    ];

    [Fact]
    public async Task ListVehicles_PagesByVin_AndFiltersByOnlineState()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var sessions = new List<TestSession>();
        foreach (var vin in _vins)
        {
            sessions.Add((await host.ConnectAsync(vin, "s-" + vin)).Session);
        }

        await host.Vehicle("1HGCM82633A000002").CloseSessionAsync("s-1HGCM82633A000002");
        await host.Vehicle("1HGCM82633A000004").CloseSessionAsync("s-1HGCM82633A000004");
        var fleet = host.Fleet(Build.Fleet);

        var first = await fleet.ListVehiclesAsync(2, null, null);
        var second = await fleet.ListVehiclesAsync(2, first.NextPageToken, null);
        var third = await fleet.ListVehiclesAsync(2, second.NextPageToken, null);
        var online = await fleet.ListVehiclesAsync(0, null, true);
        var offline = await fleet.ListVehiclesAsync(1, null, false);
        var offlineNext = await fleet.ListVehiclesAsync(1, offline.NextPageToken, false);

        Assert.Equal(["1HGCM82633A000001", "1HGCM82633A000002"], first.Vehicles.Select(v => v.Vin));
        Assert.Equal(["1HGCM82633A000003", "1HGCM82633A000004"], second.Vehicles.Select(v => v.Vin));
        Assert.Equal(["1HGCM82633A000005"], third.Vehicles.Select(v => v.Vin));
        Assert.Equal(string.Empty, third.NextPageToken);
        Assert.Equal(["1HGCM82633A000001", "1HGCM82633A000003", "1HGCM82633A000005"], online.Vehicles.Select(v => v.Vin));
        Assert.Equal(string.Empty, online.NextPageToken);
        Assert.Equal(["1HGCM82633A000002"], offline.Vehicles.Select(v => v.Vin));
        Assert.Equal(["1HGCM82633A000004"], offlineNext.Vehicles.Select(v => v.Vin));
        Assert.Equal(string.Empty, offlineNext.NextPageToken);
        GC.KeepAlive(sessions);
    }

    [Fact]
    public async Task Fleet_WhenAVehicleMovesFleet_ListsItOnlyInTheNewOne()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1", "fleet-old");

        await vehicle.ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 1), "fleet-new");

        var old = await host.Fleet("fleet-old").ListVehiclesAsync(10, null, null);
        var moved = await host.Fleet("fleet-new").ListVehiclesAsync(10, null, null);
        Assert.Empty(old.Vehicles);
        var member = Assert.Single(moved.Vehicles);
        Assert.Equal(new FleetMember(Build.Vin, true, host.Time.GetUtcNow()), member);
        GC.KeepAlive(session);
    }

    [Fact]
    public async Task Fleet_AfterSiloRestart_KeepsItsMembers()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        await host.Vehicle(Build.Vin).ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 1), Build.Fleet);

        await host.RestartSiloAsync();
        var page = await host.Fleet(Build.Fleet).ListVehiclesAsync(10, null, null);

        var member = Assert.Single(page.Vehicles);
        Assert.Equal(Build.Vin, member.Vin);
        Assert.False(member.Online);
    }
}
