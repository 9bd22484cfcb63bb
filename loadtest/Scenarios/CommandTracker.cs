using System.Collections.Concurrent;
using System.Globalization;
using HdrHistogram;
using Vehicles.Api.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// Sends commands as an operator and remembers every one the server accepted, so that after the run each can be
/// compared with what the vehicle that received it did. Measures send→delivery and send→result as the vehicle saw
/// them (metrics <c>send_to_delivery</c>, <c>send_to_vehicle_result</c>); the step itself is the operator's round trip.
/// </summary>
public sealed class CommandTracker
{
    private static readonly (string Name, Func<CommandParameters> Parameters)[] _commands =
    [
        ("lock_doors", () => new CommandParameters { LockDoors = new LockDoorsParameters() }),
        ("unlock_doors", () => new CommandParameters { UnlockDoors = new UnlockDoorsParameters() }),
        ("flash_lights", () => new CommandParameters { FlashLights = new FlashLightsParameters { Times = 2 } }),
        ("honk_horn", () => new CommandParameters { HonkHorn = new HonkHornParameters { Times = 1 } }),
        ("set_charge_limit", () => new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 80 } }),
    ];

    private readonly ScenarioContext _context;
    private readonly OperatorClient _operators;
    private readonly TimeSpan _timeout;
    private readonly ConcurrentQueue<(SimulatedVehicle Vehicle, string CommandId)> _accepted = new();
    private readonly Recorder _delivery;
    private readonly Recorder _vehicleResult;
    private readonly Gauge _acceptedGauge;
    private long _sends;
    private long _rejected;

    /// <summary>Creates a tracker that waits at most <paramref name="timeout"/> for each command's result.</summary>
    public CommandTracker(ScenarioContext context, OperatorClient operators, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(operators);
        _context = context;
        _operators = operators;
        _timeout = timeout;
        _delivery = context.Metric("send_to_delivery");
        _vehicleResult = context.Metric("send_to_vehicle_result");
        _acceptedGauge = context.Gauge("commands_accepted");
    }

    /// <summary>Sends one command to <paramref name="vehicle"/> and waits for its final state (the round trip).</summary>
    public async ValueTask<StepResult> SendAsync(SimulatedVehicle vehicle, long sequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vehicle);
        var (name, parameters) = _commands[sequence % _commands.Length];
        var time = _context.TimeProvider;
        var start = time.GetTimestamp();
        Interlocked.Increment(ref _sends);
        SendCommandResponse response;
        try
        {
            response = await _operators.SendCommandAsync(
                new SendCommandRequest { Vin = vehicle.Vin, Name = name, Parameters = parameters(), WaitForResult = true },
                _timeout,
                cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _rejected);
            return StepResult.Fail(CallErrors.StatusName(e));
        }

        var command = response.Command;
        _accepted.Enqueue((vehicle, command.CommandId));
        _acceptedGauge.Increment();
        if (vehicle.Commands.TryGetValue(command.CommandId, out var record))
        {
            _delivery.RecordMicroseconds(Microseconds(time, start, record.DeliveredTimestamp));
            if (record.AnsweredTimestamp > 0)
            {
                _vehicleResult.RecordMicroseconds(Microseconds(time, start, record.AnsweredTimestamp));
            }
        }

        return IsFinal(command.State) ? StepResult.Ok : StepResult.Fail("NOT_FINAL");
    }

    /// <summary>
    /// Checks that every accepted command reached a final state the vehicle agrees with, waiting up to
    /// <paramref name="settle"/> for late ones, and that sends reconcile (sent = accepted + rejected).
    /// </summary>
    public async Task VerifyAsync(TimeSpan settle, CancellationToken cancellationToken)
    {
        var sends = Interlocked.Read(ref _sends);
        var rejected = Interlocked.Read(ref _rejected);
        _context.Gauge("commands_sent").Set(sends);
        _context.Gauge("commands_rejected").Set(rejected);
        if (sends != _accepted.Count + rejected)
        {
            _context.ReportDiscrepancy(
                "unreconciled-commands",
                string.Create(CultureInfo.InvariantCulture, $"{sends} commands sent but {_accepted.Count} accepted + {rejected} rejected"));
        }

        var time = _context.TimeProvider;
        var deadline = time.GetTimestamp() + (long)(settle.TotalSeconds * time.TimestampFrequency);
        long agreed = 0;
        await Parallel.ForEachAsync(
            _accepted,
            new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (entry, token) =>
            {
                var (vehicle, commandId) = entry;
                Command? stored = null;
                try
                {
                    // Bounded polling: the vehicle may still be answering the last commands of the run.
                    for (var attempt = 0; attempt < 200; attempt++)
                    {
                        stored = await _operators.GetCommandAsync(vehicle.Vin, commandId, token);
                        if (IsFinal(stored.State) || time.GetTimestamp() > deadline)
                        {
                            break;
                        }

                        await Task.Delay(TimeSpan.FromMilliseconds(50), time, token);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _context.ReportDiscrepancy("command-unreadable", $"{vehicle.Vin} {commandId}: GetCommand failed: {CallErrors.StatusName(e)} {e.Message}");
                    return;
                }

                if (Compare(vehicle, commandId, stored!) is { } problem)
                {
                    _context.ReportDiscrepancy(problem.Kind, problem.Detail);
                }
                else
                {
                    Interlocked.Increment(ref agreed);
                }
            });
        _context.Gauge("commands_agreed").Set(agreed);
    }

    /// <summary>Whether the server's record of a command agrees with the vehicle's; the problem when it does not.</summary>
    internal static (string Kind, string Detail)? Compare(SimulatedVehicle vehicle, string commandId, Command stored)
    {
        if (!IsFinal(stored.State))
        {
            return ("command-not-final", $"{vehicle.Vin} {commandId} ({stored.Name}): still {stored.State} after the run");
        }

        if (!vehicle.Commands.TryGetValue(commandId, out var record))
        {
            return stored.State is CommandState.Expired or CommandState.Canceled
                ? null
                : ("command-never-delivered", $"{vehicle.Vin} {commandId} ({stored.Name}): server says {stored.State}, the vehicle never received it");
        }

        CommandState expected;
        lock (record)
        {
            expected = record.Canceled ? CommandState.Canceled : record.Outcome switch
            {
                CommandOutcome.Succeeded => CommandState.Succeeded,
                CommandOutcome.Failed => CommandState.Failed,
                CommandOutcome.Rejected => CommandState.Rejected,
                _ => CommandState.Unspecified,
            };
        }

        return expected == stored.State
            ? null
            : ("command-disagreement", $"{vehicle.Vin} {commandId} ({stored.Name}): vehicle says {expected}, server says {stored.State}");
    }

    private static bool IsFinal(CommandState state) =>
        state is CommandState.Succeeded or CommandState.Failed or CommandState.Rejected or CommandState.Expired or CommandState.Canceled;

    private static long Microseconds(TimeProvider time, long from, long to) =>
        to <= from ? 0 : (long)time.GetElapsedTime(from, to).TotalMicroseconds;
}
