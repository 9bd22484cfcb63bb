using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.LoadTest;

/// <summary>The vehicle's side of commands: record each delivery, carry it out after the configured delay, answer.</summary>
public sealed partial class SimulatedVehicle
{
    private void OnCommand(Session session, CommandDelivery delivery)
    {
        var record = new CommandRecord(delivery.CommandId, delivery.Name, _time.GetTimestamp());
        if (!_commands.TryAdd(delivery.CommandId, record))
        {
            // A redelivery after a reconnect: the vehicle answers what it answered before, if it has.
            record = _commands[delivery.CommandId];
        }

        _lastCommandId = delivery.CommandId;
        _ = ExecuteAsync(session, record);
    }

    private async Task ExecuteAsync(Session session, CommandRecord record)
    {
        try
        {
            TimeSpan delay;
            double draw, lie;
            lock (_random)
            {
                delay = _behaviour.CommandDelay.Sample(_random);
                draw = _random.NextDouble();
                lie = _random.NextDouble();
            }

            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, session.Cancellation.Token);
            }

            CommandOutcome told;
            lock (record)
            {
                if (record.Canceled)
                {
                    return;
                }

                if (record.Outcome == CommandOutcome.Unspecified)
                {
                    record.Outcome = draw < _behaviour.FailRate ? CommandOutcome.Failed : CommandOutcome.Succeeded;
                }

                told = lie < _behaviour.LieRate
                    ? (record.Outcome == CommandOutcome.Succeeded ? CommandOutcome.Failed : CommandOutcome.Succeeded)
                    : record.Outcome;
                record.AnsweredTimestamp = _time.GetTimestamp();
            }

            var result = new CommandResult
            {
                CommandId = record.CommandId,
                Outcome = told,
                Message = told == CommandOutcome.Succeeded ? "done" : "simulated failure",
            };
            await _writeLock.WaitAsync(session.Cancellation.Token);
            try
            {
                await session.Call!.RequestStream.WriteAsync(new VehicleMessage { CommandResult = result }, CancellationToken.None);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or ObjectDisposedException or InvalidOperationException)
        {
            // The stream went away; the server redelivers the command after the reconnect.
        }
    }
}
