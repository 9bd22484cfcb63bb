using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

public sealed class CommandTests
{
    [Fact]
    public async Task SendCommand_WhileOnline_DeliversAtOnceInFifoOrder()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");

        var first = await vehicle.SendCommandAsync(Build.Command("lock_doors"));
        var second = await vehicle.SendCommandAsync(Build.Command("flash_lights"));
        var pushed1 = await session.NextPushAsync();
        var pushed2 = await session.NextPushAsync();

        Assert.Equal(SendCommandStatus.Created, first.Status);
        Assert.Equal(CommandState.Delivered, first.Command!.State);
        Assert.Equal(host.Time.GetUtcNow(), first.Command.DeliverTime.ToDateTimeOffset());
        Assert.Equal([first.Command.CommandId, second.Command!.CommandId], [pushed1.Command.CommandId, pushed2.Command.CommandId]);
        Assert.Equal("lock_doors", pushed1.Command.Name);
        Assert.Equal(first.Command.ExpireTime, pushed1.Command.ExpireTime);
    }

    [Fact]
    public async Task SendCommand_WhenVehicleOffline_QueuesUntilReconnect()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        await vehicle.ReportAsync(Build.Report(1, host.Time.GetUtcNow(), s => s.Speed = 0), Build.Fleet);

        var a = await vehicle.SendCommandAsync(Build.Command("lock_doors"));
        var b = await vehicle.SendCommandAsync(Build.Command("honk_horn"));
        var (first, grant) = await host.ConnectAsync(Build.Vin, "s1");
        await vehicle.CompleteCommandAsync(new CommandResult { CommandId = a.Command!.CommandId, Outcome = CommandOutcome.Succeeded });
        await vehicle.CloseSessionAsync("s1");
        var (second, regrant) = await host.ConnectAsync(Build.Vin, "s2");

        Assert.Equal(CommandState.Pending, a.Command.State);
        Assert.Equal([a.Command.CommandId, b.Command!.CommandId], grant.Commands.Select(c => c.CommandId));
        Assert.Equal(CommandState.Delivered, (await vehicle.GetCommandAsync(b.Command.CommandId))!.State);
        Assert.Equal([b.Command.CommandId], regrant.Commands.Select(c => c.CommandId));
        GC.KeepAlive(first);
        GC.KeepAlive(second);
    }

    [Fact]
    public async Task SendCommand_IsDurableBeforeItReturns()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);

        var sent = await host.Vehicle(Build.Vin).SendCommandAsync(Build.Command("lock_doors", key: "k1"));

        var stored = await host.ReadStoredVehicleAsync(Build.Vin);
        var command = Assert.Single(stored!.Commands);
        Assert.Equal(sent.Command!.CommandId, command.CommandId);
        Assert.Equal("k1", command.IdempotencyKey);
    }

    [Fact]
    public async Task SendCommand_WhenTtlPasses_Expires()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        using var events = host.Events.SubscribeVehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();
        var shortLived = await vehicle.SendCommandAsync(Build.Command("lock_doors", ttl: TimeSpan.FromSeconds(30)));
        var defaultTtl = await vehicle.SendCommandAsync(Build.Command("honk_horn"));

        host.Time.Advance(TimeSpan.FromSeconds(31));
        await Eventually.TrueAsync(async () => (await vehicle.GetCommandAsync(shortLived.Command!.CommandId))!.State == CommandState.Expired, "expiry timer");
        var expired = await vehicle.GetCommandAsync(shortLived.Command!.CommandId);
        var live = await vehicle.GetCommandAsync(defaultTtl.Command!.CommandId);
        var (session, grant) = await host.ConnectAsync(Build.Vin, "s1");

        Assert.Equal(Timestamp.FromDateTimeOffset(t0.AddSeconds(30)), expired!.ExpireTime);
        Assert.Equal(Timestamp.FromDateTimeOffset(t0.AddSeconds(30)), expired.CompleteTime);
        Assert.Equal(Timestamp.FromDateTimeOffset(t0.AddMinutes(5)), live!.ExpireTime);
        Assert.Equal(CommandState.Pending, live.State);
        Assert.Equal([defaultTtl.Command.CommandId], grant.Commands.Select(c => c.CommandId));
        Assert.Contains(Drain(events), e => e.Command is { State: CommandState.Expired } c && c.CommandId == shortLived.Command.CommandId);
        GC.KeepAlive(session);
    }

    [Fact]
    public async Task SendCommand_WithTtlAboveTheMaximum_IsRefused()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);

        var result = await host.Vehicle(Build.Vin).SendCommandAsync(Build.Command(ttl: TimeSpan.FromDays(8)));

        Assert.Equal(SendCommandStatus.InvalidTtl, result.Status);
        Assert.Null(result.Command);
    }

    [Fact]
    public async Task CancelCommand_WhenDelivered_CancelsAndTellsTheVehicle()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        var sent = await vehicle.SendCommandAsync(Build.Command());
        await session.NextPushAsync();

        var canceled = await vehicle.CancelCommandAsync(sent.Command!.CommandId);
        var pushed = await session.NextPushAsync();
        var again = await vehicle.CancelCommandAsync(sent.Command.CommandId);
        var lateResult = await vehicle.CompleteCommandAsync(new CommandResult { CommandId = sent.Command.CommandId, Outcome = CommandOutcome.Succeeded });

        Assert.Equal(CancelCommandStatus.Canceled, canceled.Status);
        Assert.Equal(CommandState.Canceled, canceled.Command!.State);
        Assert.Equal(sent.Command.CommandId, pushed.CommandCancel.CommandId);
        Assert.Equal(CancelCommandStatus.AlreadyFinal, again.Status);
        Assert.Equal(CommandState.Canceled, again.Command!.State);
        Assert.Equal(CompleteCommandStatus.AlreadyFinal, lateResult.Status);
        Assert.Equal(CommandState.Canceled, (await host.ReadStoredVehicleAsync(Build.Vin))!.Commands.Single().State);
    }

    [Fact]
    public async Task CancelCommand_WhenPendingOrUnknown_CancelsWithoutPushOrReportsNotFound()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var sent = await vehicle.SendCommandAsync(Build.Command());

        var canceled = await vehicle.CancelCommandAsync(sent.Command!.CommandId);
        var unknown = await vehicle.CancelCommandAsync("c999");
        var (session, grant) = await host.ConnectAsync(Build.Vin, "s1");

        Assert.Equal(CancelCommandStatus.Canceled, canceled.Status);
        Assert.Equal(CancelCommandStatus.NotFound, unknown.Status);
        Assert.Empty(grant.Commands);
        Assert.False(session.Pushes.TryRead(out _));
    }

    [Fact]
    public async Task CompleteCommand_WithOutcome_FinishesTheCommand_AndUnknownIdsAreReported()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");
        var sent = await vehicle.SendCommandAsync(Build.Command("locate"));
        var payload = new Struct { Fields = { ["latitude"] = Value.ForNumber(48.1) } };

        var done = await vehicle.CompleteCommandAsync(new CommandResult { CommandId = sent.Command!.CommandId, Outcome = CommandOutcome.Rejected, Message = "driving", Payload = payload });
        var unknown = await vehicle.CompleteCommandAsync(new CommandResult { CommandId = "c42", Outcome = CommandOutcome.Succeeded });

        Assert.Equal(CompleteCommandStatus.Completed, done.Status);
        Assert.Equal(CommandState.Rejected, done.Command!.State);
        Assert.Equal("driving", done.Command.StatusMessage);
        Assert.Equal(payload, done.Command.Result);
        Assert.Equal(CompleteCommandStatus.UnknownCommand, unknown.Status);
        Assert.Equal(CommandState.Rejected, (await host.ReadStoredVehicleAsync(Build.Vin))!.Commands.Single().State);
        GC.KeepAlive(session);
    }

    [Fact]
    public async Task SendCommand_WithSameIdempotencyKey_ReturnsTheFirstOrAConflict()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var limit = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 80 } };
        var other = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 90 } };

        var first = await vehicle.SendCommandAsync(Build.Command("set_charge_limit", key: "k1", parameters: limit));
        var retry = await vehicle.SendCommandAsync(Build.Command("set_charge_limit", key: "k1", parameters: limit.Clone()));
        var conflict = await vehicle.SendCommandAsync(Build.Command("set_charge_limit", key: "k1", parameters: other));
        host.Time.Advance(TimeSpan.FromHours(25));
        var afterLifetime = await vehicle.SendCommandAsync(Build.Command("set_charge_limit", key: "k1", parameters: other));

        Assert.Equal(SendCommandStatus.Created, first.Status);
        Assert.Equal(SendCommandStatus.Deduplicated, retry.Status);
        Assert.Equal(first.Command!.CommandId, retry.Command!.CommandId);
        Assert.Equal(SendCommandStatus.IdempotencyKeyConflict, conflict.Status);
        Assert.Equal(first.Command.CommandId, conflict.Command!.CommandId);
        Assert.Equal(SendCommandStatus.Created, afterLifetime.Status);
        Assert.NotEqual(first.Command.CommandId, afterLifetime.Command!.CommandId);
    }

    [Fact]
    public async Task SendCommand_WhenQueueFull_ReturnsQueueFull()
    {
        using var settings = ClusterSettings.Sqlite();
        settings.ConfigureGrains = o => o.MaxQueuedCommands = 3;
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        for (var i = 0; i < 3; i++)
        {
            await vehicle.SendCommandAsync(Build.Command());
        }

        var full = await vehicle.SendCommandAsync(Build.Command());
        var page = await vehicle.ListCommandsAsync(10, null);
        await vehicle.CancelCommandAsync(page.Commands[0].CommandId);
        var afterCancel = await vehicle.SendCommandAsync(Build.Command());

        Assert.Equal(SendCommandStatus.QueueFull, full.Status);
        Assert.Null(full.Command);
        Assert.Equal(3, page.Commands.Length);
        Assert.Equal(SendCommandStatus.Created, afterCancel.Status);
    }

    [Fact]
    public async Task Commands_BeyondTheHistoryBound_DropOldestFinalOnes_AndListNewestFirst()
    {
        using var settings = ClusterSettings.Sqlite();
        settings.ConfigureGrains = o => o.MaxCommandHistory = 3;
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var live = await vehicle.SendCommandAsync(Build.Command("honk_horn"));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var sent = await vehicle.SendCommandAsync(Build.Command());
            await vehicle.CancelCommandAsync(sent.Command!.CommandId);
            ids.Add(sent.Command.CommandId);
        }

        var first = await vehicle.ListCommandsAsync(2, null);
        var second = await vehicle.ListCommandsAsync(2, first.NextPageToken);
        var bad = await vehicle.ListCommandsAsync(2, "not-a-token");

        Assert.Equal([ids[4], ids[3]], first.Commands.Select(c => c.CommandId));
        Assert.Equal([ids[2], live.Command!.CommandId], second.Commands.Select(c => c.CommandId));
        Assert.Equal(string.Empty, second.NextPageToken);
        Assert.Null(await vehicle.GetCommandAsync(ids[0]));
        Assert.True(bad.InvalidPageToken);
        Assert.Empty(bad.Commands);
    }

    [Fact]
    public async Task ScheduledCommand_WhileOnline_IsPushedAtNotBeforeByTheGrainTimer()
    {
        using var settings = ClusterSettings.Sqlite();
        // Longer than the wait for not_before, so the session stays open without heartbeats.
        settings.ConfigureGrains = o => o.HeartbeatTimeout = TimeSpan.FromHours(1);
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var notBefore = host.Time.GetUtcNow().AddMinutes(10);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");

        var sent = await vehicle.SendCommandAsync(Build.Command(notBefore: notBefore));
        host.Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        var early = await vehicle.GetCommandAsync(sent.Command!.CommandId);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        var pushed = await session.NextPushAsync();

        Assert.Equal(CommandState.Pending, sent.Command.State);
        Assert.Equal(Timestamp.FromDateTimeOffset(notBefore.AddMinutes(5)), sent.Command.ExpireTime);
        Assert.Equal(CommandState.Pending, early!.State);
        Assert.Equal(sent.Command.CommandId, pushed.Command.CommandId);
        var delivered = await vehicle.GetCommandAsync(sent.Command.CommandId);
        Assert.Equal(CommandState.Delivered, delivered!.State);
        Assert.Equal(Timestamp.FromDateTimeOffset(notBefore), delivered.DeliverTime);
    }

    [Fact]
    public async Task ScheduledCommand_WhileTheGrainIsNotActive_ActivatesItAtNotBefore()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        await vehicle.SendCommandAsync(Build.Command(notBefore: host.Time.GetUtcNow().AddMinutes(10)));
        await host.Cluster.DeactivateAsync(vehicle);
        var activeBefore = host.IsActive(vehicle);

        host.Time.Advance(TimeSpan.FromMinutes(10));

        // The first tick is due at not_before. Had the reminder service loaded the reminder only after the clock moved,
        // Orleans skips the missed tick and the next one comes a period (a minute) later: the clock keeps moving.
        await Eventually.TrueAsync(
            () =>
            {
                if (!host.IsActive(vehicle))
                {
                    host.Time.Advance(TimeSpan.FromSeconds(5));
                }

                return Task.FromResult(host.IsActive(vehicle));
            },
            "the not-before reminder activates the vehicle grain");

        Assert.False(activeBefore);
    }

    [Fact]
    public async Task SendCommand_ToAVehicleNeverSeen_QueuesWithoutCreatingTheVehicle()
    {
        using var settings = ClusterSettings.Sqlite();
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);

        var sent = await vehicle.SendCommandAsync(Build.Command());

        Assert.Equal(CommandState.Pending, sent.Command!.State);
        Assert.Null(await vehicle.GetAsync());
        var (session, grant) = await host.ConnectAsync(Build.Vin, "s1");
        Assert.Equal([sent.Command.CommandId], grant.Commands.Select(c => c.CommandId));
        GC.KeepAlive(session);
    }

    private static List<VehicleEvent> Drain(VehicleEventSubscription subscription)
    {
        var events = new List<VehicleEvent>();
        while (subscription.Reader.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }
}
