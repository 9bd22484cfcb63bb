using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>The queue mechanics: lookup, delivery, expiry, not_before scheduling, events and the history bound.</summary>
public sealed partial class VehicleGrain
{
    private static bool IsLive(Command command) => command.State is CommandState.Pending or CommandState.Delivered;

    private static bool TryParseNumber(string commandId, out ulong number)
    {
        number = 0;
        return commandId.StartsWith(CommandIdPrefix, StringComparison.Ordinal)
            && ulong.TryParse(commandId.AsSpan(CommandIdPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    private static ulong Number(Command command) => TryParseNumber(command.CommandId, out var number) ? number : 0;

    private static CommandDelivery ToDelivery(Command command) => new()
    {
        CommandId = command.CommandId,
        Name = command.Name,
        Parameters = command.Parameters?.Clone(),
        CreateTime = command.CreateTime?.Clone(),
        ExpireTime = command.ExpireTime?.Clone(),
    };

    private static void Finish(Command command, CommandState state, DateTimeOffset at, string message)
    {
        command.State = state;
        command.CompleteTime = Timestamp.FromDateTimeOffset(at);
        command.StatusMessage = message;
    }

    private Command? Find(string commandId)
    {
        if (!TryParseNumber(commandId, out var number))
        {
            return null;
        }

        foreach (var command in _state.State.Commands)
        {
            if (Number(command) == number)
            {
                return command;
            }
        }

        return null;
    }

    private Command? FindByIdempotencyKey(string key, DateTimeOffset now)
    {
        foreach (var command in _state.State.Commands)
        {
            if (command.IdempotencyKey == key && command.CreateTime.ToDateTimeOffset() + _options.IdempotencyKeyLifetime > now)
            {
                return command;
            }
        }

        return null;
    }

    private static bool IsDue(Command command, DateTimeOffset now) => command.NotBefore is null || command.NotBefore.ToDateTimeOffset() <= now;

    /// <summary>Marks every due PENDING command DELIVERED and returns them with every DELIVERED one, oldest first.</summary>
    private List<CommandDelivery> TakeDeliveries(DateTimeOffset now)
    {
        var deliveries = new List<CommandDelivery>();
        foreach (var command in _state.State.Commands)
        {
            if (command.State == CommandState.Delivered || (command.State == CommandState.Pending && IsDue(command, now)))
            {
                MarkDelivered(command, now);
                deliveries.Add(ToDelivery(command));
            }
        }

        return deliveries;
    }

    private void TryDeliver(Command command, DateTimeOffset now)
    {
        if (_sessionId is { } sessionId && _sessions.TryPush(Vin, sessionId, new ServerMessage { Command = ToDelivery(command) }))
        {
            MarkDelivered(command, now);
        }
    }

    private void MarkDelivered(Command command, DateTimeOffset now)
    {
        command.State = CommandState.Delivered;
        command.DeliverTime = Timestamp.FromDateTimeOffset(now);
        _checkpoint.MarkDirty();
        PublishCommand(command);
    }

    private void ExpireDue(DateTimeOffset now)
    {
        var expired = false;
        foreach (var command in _state.State.Commands)
        {
            if (IsLive(command) && command.ExpireTime.ToDateTimeOffset() <= now)
            {
                Finish(command, CommandState.Expired, command.ExpireTime.ToDateTimeOffset(), "expired before a result arrived");
                PublishCommand(command);
                expired = true;
            }
        }

        if (expired)
        {
            _checkpoint.MarkDirty();
            TrimHistory();
        }
    }

    private void ArmExpiryTimer(DateTimeOffset now)
    {
        DateTimeOffset? next = null;
        foreach (var command in _state.State.Commands)
        {
            if (IsLive(command))
            {
                var at = command.ExpireTime.ToDateTimeOffset();
                next = next is null || at < next ? at : next;
            }
        }

        if (next is null)
        {
            _expiryTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var due = next.Value > now ? next.Value - now : TimeSpan.Zero;
        if (_expiryTimer is null)
        {
            _expiryTimer = RegisterGrainTimer(OnExpiryTimerAsync, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _expiryTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private Task OnExpiryTimerAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        ExpireDue(now);
        ArmExpiryTimer(now);
        return Task.CompletedTask;
    }

    /// <summary>Keeps one durable reminder at the earliest not_before still ahead, so scheduled commands go out even after a restart.</summary>
    private async Task EnsureNotBeforeReminderAsync(DateTimeOffset now)
    {
        DateTimeOffset? next = null;
        foreach (var command in _state.State.Commands)
        {
            if (command.State == CommandState.Pending && !IsDue(command, now))
            {
                var at = command.NotBefore.ToDateTimeOffset();
                next = next is null || at < next ? at : next;
            }
        }

        if (next is null)
        {
            return;
        }

        var existing = await GetReminder(NotBeforeReminder);
        if (existing is not null && _scheduledReminderAt == next)
        {
            return;
        }

        await RegisterOrUpdateReminder(NotBeforeReminder, next.Value - now, TimeSpan.Zero);
        _scheduledReminderAt = next;
    }

    private async Task OnNotBeforeReminderAsync()
    {
        var now = _time.GetUtcNow();
        _scheduledReminderAt = null;
        ExpireDue(now);
        foreach (var command in _state.State.Commands)
        {
            if (command.State == CommandState.Pending && IsDue(command, now))
            {
                TryDeliver(command, now);
            }
        }

        ArmExpiryTimer(now);
        await EnsureNotBeforeReminderAsync(now);
    }

    private void PublishCommand(Command command)
    {
        var fleetId = CurrentVehicle?.FleetId ?? string.Empty;
        if (_events.HasSubscribers(Vin, fleetId))
        {
            _events.Publish(Vin, fleetId, new VehicleEvent { Command = command.Clone() });
        }
    }

    /// <summary>Drops the oldest final commands beyond the history bound; live ones are never dropped.</summary>
    private void TrimHistory()
    {
        var commands = _state.State.Commands;
        var final = commands.Count - commands.Count(IsLive);
        for (var i = 0; i < commands.Count && final > _options.MaxCommandHistory;)
        {
            if (IsLive(commands[i]))
            {
                i++;
                continue;
            }

            commands.RemoveAt(i);
            final--;
            _checkpoint.MarkDirty();
        }
    }
}
