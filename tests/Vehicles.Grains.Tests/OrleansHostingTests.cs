using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Placement;
using Orleans.Storage;
using Vehicles.Api.V1;
using Vehicles.Grains.State;

namespace Vehicles.Grains.Tests;

/// <summary>How the grains use Orleans: restarts, shutdown, ETags, idle collection and the not_before reminder.</summary>
public sealed class OrleansHostingTests
{
    private const string NotBeforeReminder = "not-before";

    [Fact]
    public async Task GracefulShutdown_WritesAReportNotYetCheckpointed()
    {
        using var settings = ClusterSettings.Sqlite();
        settings.ConfigureGrains = o => o.CheckpointInterval = TimeSpan.FromHours(1);
        await using var host = await VehicleCluster.StartAsync(settings);
        var ack = await host.Vehicle(Build.Vin).ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 12), Build.Fleet);
        var storedBefore = await host.ReadStoredVehicleAsync(Build.Vin);

        await host.StopSiloAsync();
        await host.StartSiloAsync();

        // Read through the storage provider, not the grain: only what the stopping silo wrote is there.
        var storedAfter = await host.ReadStoredVehicleAsync(Build.Vin);
        Assert.Equal(0UL, ack.Ack.DurableSequence);
        Assert.Null(storedBefore);
        Assert.Equal(1UL, storedAfter!.AppliedSequence);
        Assert.Equal(12, storedAfter.Vehicle.Signals.Speed);
        Assert.Equal(Build.Fleet, storedAfter.Vehicle.FleetId);
    }

    [Fact]
    public async Task VehicleAndFleetGrains_AreImmovable_SoAShutdownDeactivatesThemInsteadOfMigrating()
    {
        // A shutdown migration waits for the grain to activate on its target; a vehicle's activation may call its fleet
        // grain, queued behind the same shutdown, and the leaving silo stalled for the 30 s system response timeout.
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var manifest = host.Silo.GetRequiredService<IClusterManifestProvider>().LocalGrainManifest;

        foreach (var grain in new IAddressable[] { host.Vehicle(Build.Vin), host.Fleet(Build.Fleet) })
        {
            var type = grain.GetGrainId().Type;
            Assert.True(manifest.Grains.TryGetValue(type, out var properties), type + " is not in the manifest");
            Assert.True(properties.Properties.TryGetValue("immovable", out var kind), type + " can migrate");
            Assert.Equal(((byte)ImmovableKind.Any).ToString(CultureInfo.InvariantCulture), kind);
        }
    }

    [Fact]
    public async Task Write_AfterAnotherWriterMovedTheRecordOn_SurfacesInconsistentState_AndTheNextCallReadsTheNewerState()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var first = await vehicle.SendCommandAsync(Build.Command("lock_doors"));

        // A second writer (another activation of the same VIN, say on a silo that was wrongly declared dead) writes the
        // record, so the ETag this activation holds is stale.
        var other = new GrainState<VehicleGrainState>();
        await host.Storage.ReadStateAsync("vehicle", vehicle.GetGrainId(), other);
        other.State!.Vehicle = new Vehicle { Vin = Build.Vin, FleetId = "fleet-other", Signals = new Signals { Speed = 77 } };
        await host.Storage.WriteStateAsync("vehicle", vehicle.GetGrainId(), other);

        await Assert.ThrowsAsync<InconsistentStateException>(() => vehicle.SendCommandAsync(Build.Command("honk_horn")));
        var stored = await host.ReadStoredVehicleAsync(Build.Vin);
        SendCommandResult? retry = null;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    retry = await vehicle.SendCommandAsync(Build.Command("honk_horn"));
                    return true;
                }
                catch (InconsistentStateException)
                {
                    return false;
                }
            },
            "a fresh activation that read the newer record");
        var state = await vehicle.GetAsync();

        Assert.Equal([first.Command!.CommandId], stored!.Commands.Select(c => c.CommandId));
        Assert.Equal(SendCommandStatus.Created, retry!.Status);
        Assert.Equal("c2", retry.Command!.CommandId);
        Assert.Equal(77, state!.Signals.Speed);
        Assert.Equal("fleet-other", state.FleetId);
        Assert.Equal(2, (await host.ReadStoredVehicleAsync(Build.Vin))!.Commands.Count);
    }

    [Fact]
    public async Task TimedCheckpoint_AfterAnotherWriterMovedTheRecordOn_LeavesTheStaleActivation_AndTheNextOneReadsTheNewerState()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        await vehicle.ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 10), Build.Fleet);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.DurableSequence == 1, "first checkpoint written");
        var other = new GrainState<VehicleGrainState>();
        await host.Storage.ReadStateAsync("vehicle", vehicle.GetGrainId(), other);
        other.State!.AppliedSequence = 5;
        other.State.Vehicle.Signals.Speed = 77;
        await host.Storage.WriteStateAsync("vehicle", vehicle.GetGrainId(), other);

        // Only the checkpoint timer writes a report, so its InconsistentStateException reaches no caller.
        await vehicle.ReportAsync(Build.Report(2, host.Time.GetUtcNow(), s => s.Speed = 20), null);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.Signals.Speed == 77, "an activation that read the newer record");
        var receipt = await vehicle.ReportAsync(Build.Report(6, host.Time.GetUtcNow(), s => s.Speed = 60), null);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.DurableSequence == 6, "a checkpoint of the new activation written");

        Assert.Equal(5UL, receipt.Ack.DurableSequence);
        Assert.Equal(60, (await host.ReadStoredVehicleAsync(Build.Vin))!.Vehicle.Signals.Speed);
    }

    [Fact]
    public async Task IdleCollection_WritesTheState_EndsAnOpenSessionAsClosed_AndTheStateIsThereAfterwards()
    {
        using var settings = ClusterSettings.Sqlite();
        settings.CollectionAge = TimeSpan.FromSeconds(2);
        settings.ConfigureGrains = o =>
        {
            o.CheckpointInterval = TimeSpan.FromHours(1);
            o.FleetCheckpointInterval = TimeSpan.FromHours(1);
            o.HeartbeatTimeout = TimeSpan.FromHours(2);
        };
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        await vehicle.ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 12), null);
        var storedBefore = await host.ReadStoredVehicleAsync(Build.Vin);
        var management = host.Client.GetGrain<IManagementGrain>(0);

        await Eventually.TrueAsync(
            async () =>
            {
                await management.ForceActivationCollection(TimeSpan.FromSeconds(1));
                return !host.IsActive(vehicle);
            },
            "the idle vehicle grain collected");
        var endReason = await session.WaitEndedAsync();
        var storedAfter = await host.ReadStoredVehicleAsync(Build.Vin);
        await Eventually.TrueAsync(
            async () =>
            {
                await management.ForceActivationCollection(TimeSpan.FromSeconds(1));
                return (await host.ReadStoredFleetAsync(Build.Fleet))?.Members.TryGetValue(Build.Vin, out var member) == true && !member.Online;
            },
            "the fleet grain, told the vehicle went offline, collected and written");
        var reactivated = await vehicle.GetAsync();

        Assert.Null(storedBefore);
        Assert.Equal(SessionEndReason.Closed, endReason);
        Assert.Equal(1UL, storedAfter!.AppliedSequence);
        Assert.Equal(ConnectionState.Offline, storedAfter.Vehicle.ConnectionState);
        Assert.Equal(12, reactivated!.Signals.Speed);
        Assert.Equal(ConnectionState.Offline, reactivated.ConnectionState);
        Assert.Equal(1UL, reactivated.DurableSequence);
    }

    [Fact]
    public async Task NotBeforeReminder_IsRegisteredWhileACommandIsScheduled_AndRemovedWhenNothingIs()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var notBefore = host.Time.GetUtcNow().AddMinutes(10);

        var before = await host.ReadReminderAsync(vehicle, NotBeforeReminder);
        var sent = await vehicle.SendCommandAsync(Build.Command(notBefore: notBefore));
        var scheduled = await host.ReadReminderAsync(vehicle, NotBeforeReminder);
        await vehicle.CancelCommandAsync(sent.Command!.CommandId);
        var afterCancel = await host.ReadReminderAsync(vehicle, NotBeforeReminder);

        Assert.Null(before);
        Assert.NotNull(scheduled);
        Assert.Equal(notBefore.UtcDateTime, scheduled.StartAt);
        Assert.Equal(TimeSpan.FromMinutes(1), scheduled.Period);
        Assert.Null(afterCancel);
    }

    [Fact]
    public async Task ScheduledCommand_OverdueAfterARestart_IsInTheGrant_AndTheLeftoverReminderGoesOnItsNextTick()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var notBefore = host.Time.GetUtcNow().AddMinutes(10);
        var sent = await vehicle.SendCommandAsync(Build.Command(notBefore: notBefore));

        await host.StopSiloAsync();
        host.Time.Advance(TimeSpan.FromMinutes(11));
        await host.StartSiloAsync();
        var afterRestart = await host.ReadReminderAsync(vehicle, NotBeforeReminder);
        var (session, grant) = await host.ConnectAsync(Build.Vin, "s1");

        Assert.NotNull(afterRestart);
        Assert.Equal([sent.Command!.CommandId], grant.Commands.Select(c => c.CommandId));
        Assert.Equal(CommandState.Delivered, (await vehicle.GetCommandAsync(sent.Command.CommandId))!.State);

        // The new activation never registered the reminder, so it learns of it on its next tick (once a minute) and
        // removes it then. The reminder service loads its rows in the background after the start: move the clock a
        // minute at a time until it has.
        await Eventually.TrueAsync(
            async () =>
            {
                host.Time.Advance(TimeSpan.FromMinutes(1));
                return await host.ReadReminderAsync(vehicle, NotBeforeReminder) is null;
            },
            "the leftover not-before reminder removed on its tick");
        Assert.False(session.Pushes.TryRead(out _));
    }
}
