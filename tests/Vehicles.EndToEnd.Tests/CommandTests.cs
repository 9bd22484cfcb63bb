using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

public sealed class CommandTests : SiloTestBase
{
    private static SendCommandRequest Lock(string vin) =>
        new() { Vin = vin, Name = "lock_doors", Parameters = new CommandParameters { LockDoors = new LockDoorsParameters() } };

    [Fact]
    public async Task SendCommand_WaitForResult_VehicleExecutesAndCallReturnsSucceeded()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        var request = Lock(Vin(1)).With(r => r.WaitForResult = true);

        var send = Operator.SendCommandAsync(request, TimeSpan.FromSeconds(20));
        var delivery = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Command);
        await vehicle.CompleteAsync(delivery.Command.CommandId, CommandOutcome.Succeeded, "locked");
        var response = await send;
        var stored = await Operator.GetCommandAsync(Vin(1), delivery.Command.CommandId);

        Assert.Equal("lock_doors", delivery.Command.Name);
        Assert.Equal(delivery.Command.CommandId, response.Command.CommandId);
        Assert.Equal(CommandState.Succeeded, response.Command.State);
        Assert.Equal("locked", response.Command.StatusMessage);
        Assert.Equal("alice", response.Command.RequestedBy);
        Assert.False(response.Deduplicated);
        Assert.Equal(CommandState.Succeeded, stored.State);
    }

    [Fact]
    public async Task SendCommand_WaitForResultWithoutAnswer_ReturnsLiveCommandBeforeDeadline()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);

        var response = await Operator.SendCommandAsync(Lock(Vin(1)).With(r => r.WaitForResult = true), TimeSpan.FromSeconds(2));

        Assert.Equal(CommandState.Delivered, response.Command.State);
    }

    [Fact]
    public async Task SendCommand_WhenVehicleOffline_QueuesUntilReconnect()
    {
        var first = await Silo.ConnectAsync(Vin(1), Fleet);
        await first.HangUpAsync();
        await first.DisposeAsync();

        var sent = await Operator.SendCommandAsync(Lock(Vin(1)));
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        var delivery = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Command);
        await vehicle.CompleteAsync(delivery.Command.CommandId, CommandOutcome.Failed, "door open");
        var final = await Poll.UntilAsync(
            () => Operator.GetCommandAsync(Vin(1), sent.Command.CommandId), c => c.State != CommandState.Delivered, "a final state");

        Assert.Equal(CommandState.Pending, sent.Command.State);
        Assert.Equal(sent.Command.CommandId, delivery.Command.CommandId);
        Assert.Equal(CommandState.Failed, final.State);
        Assert.Equal("door open", final.StatusMessage);
    }

    [Fact]
    public async Task SendCommand_WhenTtlPassesOffline_ExpiresAndIsNeverDelivered()
    {
        var first = await Silo.ConnectAsync(Vin(1), Fleet);
        await first.HangUpAsync();
        await first.DisposeAsync();
        var sent = await Operator.SendCommandAsync(Lock(Vin(1)).With(r => r.Ttl = Duration.FromTimeSpan(TimeSpan.FromSeconds(30))));

        Silo.Clock.Advance(TimeSpan.FromSeconds(31));
        var expired = await Poll.UntilAsync(
            () => Operator.GetCommandAsync(Vin(1), sent.Command.CommandId), c => c.State == CommandState.Expired, "expiry");
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await vehicle.ReportAsync(Signal.Speed(1));
        var next = await vehicle.ReadAsync();

        Assert.Equal(sent.Command.ExpireTime, expired.ExpireTime);
        Assert.Equal(Silo.Clock.Now(TimeSpan.FromSeconds(-1)), expired.ExpireTime);
        Assert.Equal(ServerMessage.KindOneofCase.Ack, next.KindCase);
    }

    [Fact]
    public async Task SendCommand_SameIdempotencyKey_ReturnsFirstCommand_DifferentPayloadConflicts()
    {
        var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await vehicle.HangUpAsync();
        await vehicle.DisposeAsync();
        var request = new SendCommandRequest
        {
            Vin = Vin(1),
            Name = "set_charge_limit",
            Parameters = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 80 } },
            IdempotencyKey = "retry-1",
        };

        var first = await Operator.SendCommandAsync(request);
        var retry = await Operator.SendCommandAsync(request);
        var conflict = await Poll.FailsAsync(() => Operator.SendCommandAsync(request.With(r => r.Parameters.SetChargeLimit.Percent = 90)));
        var all = await Operator.ListCommandsAsync(new ListCommandsRequest { Vin = Vin(1) });

        Assert.False(first.Deduplicated);
        Assert.True(retry.Deduplicated);
        Assert.Equal(first.Command.CommandId, retry.Command.CommandId);
        Assert.Equal(StatusCode.AlreadyExists, conflict.StatusCode);
        Assert.Contains("idempotency_key", conflict.Status.Detail, StringComparison.Ordinal);
        Assert.Single(all.Commands);
    }

    [Fact]
    public async Task CancelCommand_WhenDelivered_TellsVehicle_SecondCancelFailsPrecondition()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        var sent = await Operator.SendCommandAsync(Lock(Vin(1)));
        var delivery = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Command);

        var canceled = await Operator.CancelCommandAsync(Vin(1), sent.Command.CommandId);
        var notice = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.CommandCancel);
        var again = await Poll.FailsAsync(() => Operator.CancelCommandAsync(Vin(1), sent.Command.CommandId));
        var missing = await Poll.FailsAsync(() => Operator.CancelCommandAsync(Vin(1), "no-such-command"));

        Assert.Equal(sent.Command.CommandId, delivery.Command.CommandId);
        Assert.Equal(CommandState.Canceled, canceled.State);
        Assert.Equal(sent.Command.CommandId, notice.CommandCancel.CommandId);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ScheduledCommand_SurvivesSiloRestart_DeliveredAtNotBefore()
    {
        var first = await Silo.ConnectAsync(Vin(1), Fleet);
        await first.HangUpAsync();
        await first.DisposeAsync();
        var sent = await Operator.SendCommandAsync(Lock(Vin(1)).With(r =>
        {
            r.NotBefore = Silo.Clock.Now(TimeSpan.FromMinutes(10));
            r.Ttl = Duration.FromTimeSpan(TimeSpan.FromHours(1));
        }));

        await Silo.RestartAsync();
        var operatorAfterRestart = Silo.Operator(Silo.OperatorToken(Fleet));
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await vehicle.ReportAsync(Signal.Speed(1));
        var beforeDue = await vehicle.ReadAsync();
        Silo.Clock.Advance(TimeSpan.FromMinutes(10));
        var delivery = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Command);
        var stored = await operatorAfterRestart.GetCommandAsync(Vin(1), sent.Command.CommandId);

        Assert.Equal(CommandState.Pending, sent.Command.State);
        Assert.Equal(ServerMessage.KindOneofCase.Ack, beforeDue.KindCase);
        Assert.Equal(sent.Command.CommandId, delivery.Command.CommandId);
        Assert.Equal(CommandState.Delivered, stored.State);
    }

    [Fact]
    public async Task ScheduledCommand_WhileOnline_DeliveredAtNotBefore()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        var sent = await Operator.SendCommandAsync(Lock(Vin(1)).With(r =>
        {
            r.NotBefore = Silo.Clock.Now(TimeSpan.FromMinutes(10));
            r.Ttl = Duration.FromTimeSpan(TimeSpan.FromHours(1));
        }));

        await vehicle.ReportAsync(Signal.Speed(1));
        var beforeDue = await vehicle.ReadAsync();
        Silo.Clock.Advance(TimeSpan.FromMinutes(10));
        var delivery = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Command);

        Assert.Equal(ServerMessage.KindOneofCase.Ack, beforeDue.KindCase);
        Assert.Equal(sent.Command.CommandId, delivery.Command.CommandId);
    }

    [Fact]
    public async Task SendCommand_AdminOnlyCommand_NeedsAdmin()
    {
        var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await vehicle.DisposeAsync();
        var request = new SendCommandRequest
        {
            Vin = Vin(1),
            Name = "update_config",
            Parameters = new CommandParameters { UpdateConfig = new UpdateConfigParameters { Key = "telemetry.interval", Value = "5" } },
        };
        var admin = Silo.Operator(Silo.OperatorToken(Fleet, OperatorRole.Admin));

        var denied = await Poll.FailsAsync(() => Operator.SendCommandAsync(request));
        var accepted = await admin.SendCommandAsync(request);

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal("update_config", accepted.Command.Name);
    }
}
