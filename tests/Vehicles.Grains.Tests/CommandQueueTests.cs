using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;
using Vehicles.Grains.State;

namespace Vehicles.Grains.Tests;

/// <summary>The command rules over a plain state object: no silo, no clock but the one passed in.</summary>
public sealed class CommandQueueTests
{
    private static readonly DateTimeOffset _t0 = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly VehicleGrainState _state = new();
    private readonly List<Command?> _changed = [];

    private CommandQueue Queue(Action<VehicleGrainOptions>? configure = null)
    {
        var options = new VehicleGrainOptions();
        configure?.Invoke(options);
        return new CommandQueue(_state, options, Build.Vin, _changed.Add);
    }

    [Fact]
    public void Admit_CreatesPendingCommandsWithIncreasingIds_AndExpiryFromTheLaterOfNowAndNotBefore()
    {
        var queue = Queue();

        var now = queue.Admit(Build.Command("lock_doors", ttl: TimeSpan.FromSeconds(30)), _t0);
        var later = queue.Admit(Build.Command("honk_horn", notBefore: _t0.AddMinutes(10)), _t0);
        var defaulted = queue.Admit(Build.Command("flash_lights"), _t0);

        Assert.Equal(["c1", "c2", "c3"], new[] { now, later, defaulted }.Select(r => r.Command!.CommandId));
        Assert.All(new[] { now, later, defaulted }, r => Assert.Equal(SendCommandStatus.Created, r.Status));
        Assert.Equal(CommandState.Pending, now.Command!.State);
        Assert.Equal(Build.Vin, now.Command.Vin);
        Assert.Equal("operator-1", now.Command.RequestedBy);
        Assert.Equal(Timestamp.FromDateTimeOffset(_t0.AddSeconds(30)), now.Command.ExpireTime);
        Assert.Equal(Timestamp.FromDateTimeOffset(_t0.AddMinutes(15)), later.Command!.ExpireTime);
        Assert.Equal(Timestamp.FromDateTimeOffset(_t0.AddMinutes(10)), later.Command.NotBefore);
        Assert.Equal(Duration.FromTimeSpan(TimeSpan.FromMinutes(5)), defaulted.Command!.Ttl);
        Assert.Equal(3UL, _state.LastCommandNumber);
        Assert.Equal(3, _state.Commands.Count);
        Assert.Empty(_changed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(7 * 24 * 3600 + 1)]
    public void Admit_WithATtlOutOfRange_IsRefusedAndChangesNothing(int ttlSeconds)
    {
        var queue = Queue();

        var result = queue.Admit(Build.Command(ttl: TimeSpan.FromSeconds(ttlSeconds)), _t0);

        Assert.Equal(SendCommandStatus.InvalidTtl, result.Status);
        Assert.Null(result.Command);
        Assert.Empty(_state.Commands);
        Assert.Equal(0UL, _state.LastCommandNumber);
    }

    [Fact]
    public void Admit_WithAnIdempotencyKey_DeduplicatesTheSameRequest_ConflictsOnAnother_AndForgetsItAfterItsLifetime()
    {
        var queue = Queue(o => o.IdempotencyKeyLifetime = TimeSpan.FromHours(1));
        var limit = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 80 } };

        var first = queue.Admit(Build.Command("set_charge_limit", key: "k", parameters: limit), _t0);
        var same = queue.Admit(Build.Command("set_charge_limit", key: "k", parameters: limit.Clone()), _t0.AddMinutes(1));
        var otherTtl = queue.Admit(Build.Command("set_charge_limit", key: "k", parameters: limit, ttl: TimeSpan.FromMinutes(1)), _t0.AddMinutes(1));
        var otherName = queue.Admit(Build.Command("honk_horn", key: "k"), _t0.AddMinutes(1));
        var afterLifetime = queue.Admit(Build.Command("honk_horn", key: "k"), _t0.AddHours(1));

        Assert.Equal(SendCommandStatus.Deduplicated, same.Status);
        Assert.Equal(first.Command!.CommandId, same.Command!.CommandId);
        Assert.Equal(SendCommandStatus.IdempotencyKeyConflict, otherTtl.Status);
        Assert.Equal(SendCommandStatus.IdempotencyKeyConflict, otherName.Status);
        Assert.Equal(first.Command.CommandId, otherName.Command!.CommandId);
        Assert.Equal(SendCommandStatus.Created, afterLifetime.Status);
        Assert.Equal("c2", afterLifetime.Command!.CommandId);
    }

    [Fact]
    public void Admit_BeyondTheLiveBound_IsQueueFull_AndFinalCommandsDoNotCount()
    {
        var queue = Queue(o => o.MaxQueuedCommands = 2);
        var first = queue.Admit(Build.Command(), _t0);
        queue.Admit(Build.Command(), _t0);

        var full = queue.Admit(Build.Command(), _t0);
        queue.Cancel(first.Command!.CommandId, _t0, out _);
        var afterCancel = queue.Admit(Build.Command(), _t0);

        Assert.Equal(SendCommandStatus.QueueFull, full.Status);
        Assert.Null(full.Command);
        Assert.Equal(SendCommandStatus.Created, afterCancel.Status);
        Assert.Equal("c3", afterCancel.Command!.CommandId);
    }

    [Fact]
    public void Withdraw_OfTheNewestCommand_TakesBackItsNumber()
    {
        var queue = Queue();
        queue.Admit(Build.Command(), _t0);
        var second = queue.Admit(Build.Command(), _t0);

        queue.Withdraw(second.Command!);
        var again = queue.Admit(Build.Command(), _t0);

        Assert.Equal("c2", again.Command!.CommandId);
        Assert.Equal(["c1", "c2"], _state.Commands.Select(c => c.CommandId));
    }

    [Fact]
    public void TakeDeliveries_ReturnsDueAndDeliveredCommandsOldestFirst_AndMarksThemDelivered()
    {
        var queue = Queue();
        var delivered = queue.Admit(Build.Command("lock_doors"), _t0).Command!;
        queue.MarkDelivered(delivered, _t0);
        var scheduled = queue.Admit(Build.Command("honk_horn", notBefore: _t0.AddMinutes(10)), _t0).Command!;
        var pending = queue.Admit(Build.Command("flash_lights"), _t0).Command!;
        _changed.Clear();

        var deliveries = queue.TakeDeliveries(_t0.AddMinutes(1));

        Assert.Equal([delivered.CommandId, pending.CommandId], deliveries.Select(d => d.CommandId));
        Assert.Equal(CommandState.Delivered, pending.State);
        Assert.Equal(Timestamp.FromDateTimeOffset(_t0.AddMinutes(1)), pending.DeliverTime);
        Assert.Equal(CommandState.Pending, scheduled.State);
        Assert.Equal(pending.ExpireTime, deliveries[1].ExpireTime);
        Assert.Equal([delivered, pending], _changed);
        Assert.Equal([scheduled], queue.DueScheduled(_t0.AddMinutes(10)));
        Assert.Empty(queue.DueScheduled(_t0.AddMinutes(10).AddTicks(-1)));
    }

    [Fact]
    public void ExpireDue_FinishesLiveCommandsAtTheirExpiryTime_AndReportsThem()
    {
        var queue = Queue();
        var shortLived = queue.Admit(Build.Command(ttl: TimeSpan.FromSeconds(30)), _t0).Command!;
        var longLived = queue.Admit(Build.Command(), _t0).Command!;

        queue.ExpireDue(_t0.AddSeconds(29));
        var beforeExpiry = shortLived.State;
        queue.ExpireDue(_t0.AddSeconds(31));

        Assert.Equal(CommandState.Pending, beforeExpiry);
        Assert.Equal(CommandState.Expired, shortLived.State);
        Assert.Equal(shortLived.ExpireTime, shortLived.CompleteTime);
        Assert.Equal(CommandState.Pending, longLived.State);
        Assert.Equal([shortLived], _changed);
        Assert.Equal(longLived.ExpireTime.ToDateTimeOffset(), queue.NextExpiry());
    }

    [Fact]
    public void Cancel_TellsWhetherTheVehicleMustHear_AndRefusesFinalOrUnknownCommands()
    {
        var queue = Queue();
        var pending = queue.Admit(Build.Command(), _t0).Command!;
        var delivered = queue.Admit(Build.Command(), _t0).Command!;
        queue.MarkDelivered(delivered, _t0);

        var cancelPending = queue.Cancel(pending.CommandId, _t0, out var pendingWasDelivered);
        var cancelDelivered = queue.Cancel(delivered.CommandId, _t0, out var deliveredWasDelivered);
        var again = queue.Cancel(pending.CommandId, _t0, out _);
        var unknown = queue.Cancel("c99", _t0, out _);
        var malformed = queue.Cancel("x1", _t0, out _);

        Assert.Equal(CancelCommandStatus.Canceled, cancelPending.Status);
        Assert.False(pendingWasDelivered);
        Assert.Equal(CancelCommandStatus.Canceled, cancelDelivered.Status);
        Assert.True(deliveredWasDelivered);
        Assert.Equal(CommandState.Canceled, delivered.State);
        Assert.Equal(Timestamp.FromDateTimeOffset(_t0), delivered.CompleteTime);
        Assert.Equal(CancelCommandStatus.AlreadyFinal, again.Status);
        Assert.Equal(CancelCommandStatus.NotFound, unknown.Status);
        Assert.Equal(CancelCommandStatus.NotFound, malformed.Status);
        Assert.Null(queue.NextExpiry());
    }

    [Theory]
    [InlineData(CommandOutcome.Succeeded, CommandState.Succeeded)]
    [InlineData(CommandOutcome.Rejected, CommandState.Rejected)]
    [InlineData(CommandOutcome.Failed, CommandState.Failed)]
    [InlineData(CommandOutcome.Unspecified, CommandState.Failed)]
    public void Complete_MapsTheOutcome_AndKeepsThePayload(CommandOutcome outcome, CommandState expected)
    {
        var queue = Queue();
        var command = queue.Admit(Build.Command(), _t0).Command!;
        var payload = new Struct { Fields = { ["ok"] = Value.ForBool(true) } };

        var result = queue.Complete(new CommandResult { CommandId = command.CommandId, Outcome = outcome, Message = "m", Payload = payload }, _t0.AddSeconds(5));
        var again = queue.Complete(new CommandResult { CommandId = command.CommandId, Outcome = CommandOutcome.Succeeded }, _t0.AddSeconds(6));
        var unknown = queue.Complete(new CommandResult { CommandId = "c7", Outcome = CommandOutcome.Succeeded }, _t0);

        Assert.Equal(CompleteCommandStatus.Completed, result.Status);
        Assert.Equal(expected, command.State);
        Assert.Equal("m", command.StatusMessage);
        Assert.Equal(payload, command.Result);
        Assert.Equal(Timestamp.FromDateTimeOffset(_t0.AddSeconds(5)), command.CompleteTime);
        Assert.Equal(CompleteCommandStatus.AlreadyFinal, again.Status);
        Assert.Equal(expected, again.Command!.State);
        Assert.Equal(CompleteCommandStatus.UnknownCommand, unknown.Status);
    }

    [Fact]
    public void Complete_AfterExpiry_IsAlreadyFinal()
    {
        var queue = Queue();
        var command = queue.Admit(Build.Command(ttl: TimeSpan.FromSeconds(10)), _t0).Command!;

        var late = queue.Complete(new CommandResult { CommandId = command.CommandId, Outcome = CommandOutcome.Succeeded }, _t0.AddSeconds(10));

        Assert.Equal(CompleteCommandStatus.AlreadyFinal, late.Status);
        Assert.Equal(CommandState.Expired, command.State);
    }

    [Fact]
    public void List_PagesNewestFirst_AndRejectsForeignTokens()
    {
        var queue = Queue();
        for (var i = 0; i < 5; i++)
        {
            queue.Admit(Build.Command(), _t0);
        }

        var first = queue.List(2, null);
        var second = queue.List(2, first.NextPageToken);
        var last = queue.List(2, second.NextPageToken);
        var defaultSize = queue.List(0, null);
        var foreign = queue.List(2, "page-2");

        Assert.Equal(["c5", "c4"], first.Commands.Select(c => c.CommandId));
        Assert.Equal("c4", first.NextPageToken);
        Assert.Equal(["c3", "c2"], second.Commands.Select(c => c.CommandId));
        Assert.Equal(["c1"], last.Commands.Select(c => c.CommandId));
        Assert.Equal(string.Empty, last.NextPageToken);
        Assert.Equal(5, defaultSize.Commands.Length);
        Assert.True(foreign.InvalidPageToken);
        Assert.Empty(foreign.Commands);
        Assert.NotSame(_state.Commands[4], first.Commands[0]);
    }

    [Fact]
    public void NextNotBefore_IsTheEarliestFutureNotBeforeOfPendingCommands()
    {
        var queue = Queue();
        queue.Admit(Build.Command(notBefore: _t0.AddMinutes(20)), _t0);
        var soonest = queue.Admit(Build.Command(notBefore: _t0.AddMinutes(10)), _t0).Command!;
        queue.Admit(Build.Command(), _t0);

        var next = queue.NextNotBefore(_t0);
        queue.Cancel(soonest.CommandId, _t0, out _);
        var afterCancel = queue.NextNotBefore(_t0);
        var afterBoth = queue.NextNotBefore(_t0.AddMinutes(20));

        Assert.Equal(_t0.AddMinutes(10), next);
        Assert.Equal(_t0.AddMinutes(20), afterCancel);
        Assert.Null(afterBoth);
    }

    [Fact]
    public void TrimHistory_DropsTheOldestFinalCommands_NeverLiveOnes_AndReportsTheChange()
    {
        var queue = Queue(o => o.MaxCommandHistory = 2);
        var live = queue.Admit(Build.Command(), _t0).Command!;
        for (var i = 0; i < 4; i++)
        {
            var sent = queue.Admit(Build.Command(), _t0).Command!;
            queue.Cancel(sent.CommandId, _t0, out _);
        }

        Assert.Equal([live.CommandId, "c4", "c5"], _state.Commands.Select(c => c.CommandId));
        Assert.Contains(null, _changed);
        Assert.Null(queue.Find("c2"));
        Assert.Same(live, queue.Find(live.CommandId));
    }
}
