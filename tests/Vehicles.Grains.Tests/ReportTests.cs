using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

public sealed class ReportTests
{
    [Fact]
    public async Task Report_WhenSequenceRepeated_AcksWithoutReapplying()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();
        await vehicle.ReportAsync(Build.Report(1, t0, s => s.Speed = 50), Build.Fleet);
        var versionAfterFirst = (await vehicle.GetAsync())!.StateVersion;

        var ack = await vehicle.ReportAsync(Build.Report(1, t0.AddSeconds(1), s => s.Speed = 99), Build.Fleet);

        var state = await vehicle.GetAsync();
        Assert.Equal(1UL, ack.Ack.Sequence);
        Assert.Equal(50, state!.Signals.Speed);
        Assert.Equal(versionAfterFirst, state.StateVersion);
    }

    [Fact]
    public async Task Report_ArrivingLateWithinWindow_FillsOnlySignalsNotReportedByNewerOnes()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();
        await vehicle.ReportAsync(Build.Report(1, t0, s => s.Speed = 10), Build.Fleet);
        await vehicle.ReportAsync(Build.Report(3, t0.AddSeconds(3), s => s.Speed = 30), Build.Fleet);

        await vehicle.ReportAsync(Build.Report(2, t0.AddSeconds(2), s =>
        {
            s.Speed = 20;
            s.StateOfCharge = 77;
        }), Build.Fleet);
        var duplicateLate = await vehicle.ReportAsync(Build.Report(2, t0.AddSeconds(2), s => s.Latitude = 1), Build.Fleet);

        var state = await vehicle.GetAsync();
        Assert.Equal(30, state!.Signals.Speed);
        Assert.Equal(77, state.Signals.StateOfCharge);
        Assert.False(state.Signals.HasLatitude);
        Assert.Equal(Timestamp.FromDateTimeOffset(t0.AddSeconds(3)), state.CaptureTime);
        Assert.Equal(2UL, duplicateLate.Ack.Sequence);
    }

    [Fact]
    public async Task Report_FurtherBehindThanTheWindow_IsAckedAndDropped()
    {
        using var settings = ClusterSettings.Sqlite();
        settings.ConfigureGrains = o => o.ReorderWindow = 4;
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();
        await vehicle.ReportAsync(Build.Report(10, t0, s => s.Speed = 10), Build.Fleet);

        var ack = await vehicle.ReportAsync(Build.Report(5, t0, s => s.FuelLevel = 5), Build.Fleet);

        var state = await vehicle.GetAsync();
        Assert.Equal(5UL, ack.Ack.Sequence);
        Assert.False(state!.Signals.HasFuelLevel);
    }

    [Fact]
    public async Task Checkpoint_AfterInterval_AdvancesDurableSequence()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();
        var first = await vehicle.ReportAsync(Build.Report(1, t0, s => s.Speed = 10), Build.Fleet);
        var second = await vehicle.ReportAsync(Build.Report(2, t0, s => s.Speed = 20), Build.Fleet);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.DurableSequence == 2, "checkpoint written");
        var third = await vehicle.ReportAsync(Build.Report(3, t0, s => s.Speed = 30), Build.Fleet);
        var stored = await host.ReadStoredVehicleAsync(Build.Vin);

        Assert.Equal(0UL, first.Ack.DurableSequence);
        Assert.Equal(0UL, second.Ack.DurableSequence);
        Assert.Equal(3UL, third.Ack.Sequence);
        Assert.Equal(2UL, third.Ack.DurableSequence);
        Assert.Equal(2UL, stored!.AppliedSequence);
        Assert.Equal(20, stored.Vehicle.Signals.Speed);
    }

    [Fact]
    public async Task State_AfterSiloRestart_SurvivesAndWelcomeCarriesDurableSequence()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        await vehicle.ReportAsync(Build.Report(1, t0, s => s.Speed = 10), null);
        await vehicle.ReportAsync(Build.Report(2, t0.AddSeconds(1), s => s.IsCharging = true), null);

        await host.RestartSiloAsync();
        var before = await vehicle.GetAsync();
        var (again, grant) = await host.ConnectAsync(Build.Vin, "s2");
        var duplicate = await vehicle.ReportAsync(Build.Report(2, t0.AddSeconds(1), s => s.IsCharging = false), null);

        Assert.Equal(ConnectionState.Offline, before!.ConnectionState);
        Assert.Equal(10, before.Signals.Speed);
        Assert.True(before.Signals.IsCharging);
        Assert.Equal(Build.Fleet, before.FleetId);
        Assert.Equal("fw-1", before.FirmwareVersion);
        Assert.Equal(2UL, before.DurableSequence);
        Assert.Equal(2UL, grant.DurableSequence);
        Assert.Equal(2UL, duplicate.Ack.DurableSequence);
        Assert.True((await vehicle.GetAsync())!.Signals.IsCharging);
        GC.KeepAlive(session);
        GC.KeepAlive(again);
    }

    [Fact]
    public async Task Get_ForAVehicleNeverSeen_ReturnsNull()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);

        var vehicle = await host.Vehicle("WVWZZZ1JZXW000001").GetAsync();

        Assert.Null(vehicle);
    }
}
