using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;
using Vehicles.Grains.State;

namespace Vehicles.Grains;

/// <summary>
/// A vehicle's commands over its durable state, with no runtime in sight: creation (TTL, idempotency key, the live
/// bound), delivery, expiry, cancellation, results, paging, not_before scheduling and the history bound. Commands are
/// kept in creation order, which is the delivery order (FIFO). The grain owns the I/O around it: it writes the state
/// when a method says the change must be durable first, pushes deliveries to the stream and arms timers and reminders
/// from <see cref="NextExpiry"/> and <see cref="NextNotBefore"/>. Every change of an existing command is reported to
/// <paramref name="changed"/>, so the grain can checkpoint it and publish it.
/// </summary>
/// <param name="state">The vehicle's durable state; the queue changes its commands and command counter.</param>
/// <param name="options">Bounds and lifetimes.</param>
/// <param name="vin">The vehicle.</param>
/// <param name="changed">Told of every command that changed (delivered, expired, canceled, completed); a <see langword="null"/> command means only that the state changed (history trimmed).</param>
internal sealed class CommandQueue(VehicleGrainState state, VehicleGrainOptions options, string vin, Action<Command?> changed)
{
    private const string IdPrefix = "c";
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    /// <summary>Whether the command can still change (PENDING or DELIVERED).</summary>
    public static bool IsLive(Command command) => command.State is CommandState.Pending or CommandState.Delivered;

    /// <summary>The command as the vehicle receives it.</summary>
    public static CommandDelivery ToDelivery(Command command) => new()
    {
        CommandId = command.CommandId,
        Name = command.Name,
        Parameters = command.Parameters?.Clone(),
        CreateTime = command.CreateTime?.Clone(),
        ExpireTime = command.ExpireTime?.Clone(),
    };

    /// <summary>
    /// Creates the command or says why not. A created command is already in the state but not yet durable: write the
    /// state, and <see cref="Withdraw"/> it if the write fails.
    /// </summary>
    public SendCommandResult Admit(CommandRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ExpireDue(now);
        var ttl = request.Ttl ?? options.DefaultCommandTtl;
        if (ttl <= TimeSpan.Zero || ttl > options.MaxCommandTtl)
        {
            return new SendCommandResult(SendCommandStatus.InvalidTtl, null, $"ttl must be between 1 second and {options.MaxCommandTtl}.");
        }

        var parameters = request.Parameters ?? new CommandParameters();
        var notBefore = request.NotBefore is { } at ? Timestamp.FromDateTimeOffset(at) : null;
        if (!string.IsNullOrEmpty(request.IdempotencyKey) && FindByIdempotencyKey(request.IdempotencyKey, now) is { } earlier)
        {
            var same = earlier.Name == request.Name && earlier.Parameters.Equals(parameters)
                && earlier.Ttl.ToTimeSpan() == ttl && Equals(earlier.NotBefore, notBefore);
            return same
                ? new SendCommandResult(SendCommandStatus.Deduplicated, earlier.Clone())
                : new SendCommandResult(SendCommandStatus.IdempotencyKeyConflict, earlier.Clone(), "idempotency_key was already used for a different command.");
        }

        if (state.Commands.Count(IsLive) >= options.MaxQueuedCommands)
        {
            return new SendCommandResult(SendCommandStatus.QueueFull, null, $"the vehicle already has {options.MaxQueuedCommands} live commands.");
        }

        var number = state.LastCommandNumber + 1;
        var start = request.NotBefore is { } later && later > now ? later : now;
        var command = new Command
        {
            CommandId = IdPrefix + number.ToString(CultureInfo.InvariantCulture),
            Vin = vin,
            Name = request.Name,
            Parameters = parameters.Clone(),
            State = CommandState.Pending,
            CreateTime = Timestamp.FromDateTimeOffset(now),
            NotBefore = notBefore,
            ExpireTime = Timestamp.FromDateTimeOffset(start + ttl),
            IdempotencyKey = request.IdempotencyKey ?? string.Empty,
            RequestedBy = request.RequestedBy,
            Ttl = Duration.FromTimeSpan(ttl),
        };
        state.LastCommandNumber = number;
        state.Commands.Add(command);
        return new SendCommandResult(SendCommandStatus.Created, command);
    }

    /// <summary>Takes back a command <see cref="Admit"/> created whose write failed: it never existed.</summary>
    public void Withdraw(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (state.Commands.Remove(command) && state.LastCommandNumber == Number(command))
        {
            state.LastCommandNumber--;
        }
    }

    /// <summary>The command, or <see langword="null"/> when unknown or trimmed from the history.</summary>
    public Command? Find(string commandId)
    {
        if (!TryParseNumber(commandId, out var number))
        {
            return null;
        }

        foreach (var command in state.Commands)
        {
            if (Number(command) == number)
            {
                return command;
            }
        }

        return null;
    }

    /// <summary>Whether the command may go to the vehicle now.</summary>
    public static bool IsDue(Command command, DateTimeOffset now) => command.NotBefore is null || command.NotBefore.ToDateTimeOffset() <= now;

    /// <summary>Marks every due PENDING command DELIVERED and returns them with every DELIVERED one, oldest first (what a new session gets).</summary>
    public CommandDelivery[] TakeDeliveries(DateTimeOffset now)
    {
        var deliveries = new List<CommandDelivery>();
        foreach (var command in state.Commands)
        {
            if (command.State == CommandState.Delivered || (command.State == CommandState.Pending && IsDue(command, now)))
            {
                MarkDelivered(command, now);
                deliveries.Add(ToDelivery(command));
            }
        }

        return [.. deliveries];
    }

    /// <summary>PENDING commands whose not_before has come, oldest first.</summary>
    public List<Command> DueScheduled(DateTimeOffset now) => [.. state.Commands.Where(c => c.State == CommandState.Pending && IsDue(c, now))];

    /// <summary>Records that the command went to the vehicle (a lost mark only means it is delivered again).</summary>
    public void MarkDelivered(Command command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.State = CommandState.Delivered;
        command.DeliverTime = Timestamp.FromDateTimeOffset(now);
        changed(command);
    }

    /// <summary>Expires every live command whose expiry time has passed.</summary>
    public void ExpireDue(DateTimeOffset now)
    {
        var expired = false;
        foreach (var command in state.Commands)
        {
            if (IsLive(command) && command.ExpireTime.ToDateTimeOffset() <= now)
            {
                Finish(command, CommandState.Expired, command.ExpireTime.ToDateTimeOffset(), "expired before a result arrived");
                changed(command);
                expired = true;
            }
        }

        if (expired)
        {
            TrimHistory();
        }
    }

    /// <summary>Cancels a live command. <paramref name="wasDelivered"/> tells whether the vehicle must hear of it. Write the state before answering.</summary>
    public CancelCommandResult Cancel(string commandId, DateTimeOffset now, out bool wasDelivered)
    {
        wasDelivered = false;
        ExpireDue(now);
        if (Find(commandId) is not { } command)
        {
            return new CancelCommandResult(CancelCommandStatus.NotFound, null);
        }

        if (!IsLive(command))
        {
            return new CancelCommandResult(CancelCommandStatus.AlreadyFinal, command.Clone());
        }

        wasDelivered = command.State == CommandState.Delivered;
        Finish(command, CommandState.Canceled, now, "canceled by an operator");
        changed(command);
        TrimHistory();
        return new CancelCommandResult(CancelCommandStatus.Canceled, command.Clone());
    }

    /// <summary>Applies the vehicle's result. Write the state before answering: a lost result would have the command carried out again.</summary>
    public CompleteCommandResult Complete(CommandResult result, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(result);
        ExpireDue(now);
        if (Find(result.CommandId) is not { } command)
        {
            return new CompleteCommandResult(CompleteCommandStatus.UnknownCommand, null);
        }

        if (!IsLive(command))
        {
            return new CompleteCommandResult(CompleteCommandStatus.AlreadyFinal, command.Clone());
        }

        var outcome = result.Outcome switch
        {
            CommandOutcome.Succeeded => CommandState.Succeeded,
            CommandOutcome.Rejected => CommandState.Rejected,
            _ => CommandState.Failed,
        };
        Finish(command, outcome, now, result.Message);
        command.Result = result.Payload?.Clone();
        changed(command);
        TrimHistory();
        return new CompleteCommandResult(CompleteCommandStatus.Completed, command.Clone());
    }

    /// <summary>Retained commands, newest first, paged by the id of the last one on the previous page.</summary>
    public CommandPage List(int pageSize, string? pageToken)
    {
        var size = pageSize <= 0 ? DefaultPageSize : Math.Min(pageSize, MaxPageSize);
        var before = ulong.MaxValue;
        if (!string.IsNullOrEmpty(pageToken) && !TryParseNumber(pageToken, out before))
        {
            return new CommandPage([], string.Empty, InvalidPageToken: true);
        }

        var commands = state.Commands;
        var page = new List<Command>(Math.Min(size, commands.Count));
        var index = commands.Count - 1;
        while (index >= 0 && Number(commands[index]) >= before)
        {
            index--;
        }

        for (; index >= 0 && page.Count < size; index--)
        {
            page.Add(commands[index].Clone());
        }

        var next = index >= 0 && page.Count > 0 ? page[^1].CommandId : string.Empty;
        return new CommandPage([.. page], next);
    }

    /// <summary>When the next live command expires, or <see langword="null"/> when none is live.</summary>
    public DateTimeOffset? NextExpiry()
    {
        DateTimeOffset? next = null;
        foreach (var command in state.Commands)
        {
            if (IsLive(command) && command.ExpireTime.ToDateTimeOffset() is var at && (next is null || at < next))
            {
                next = at;
            }
        }

        return next;
    }

    /// <summary>The earliest not_before still ahead of <paramref name="now"/> among PENDING commands, or <see langword="null"/>.</summary>
    public DateTimeOffset? NextNotBefore(DateTimeOffset now)
    {
        DateTimeOffset? next = null;
        foreach (var command in state.Commands)
        {
            if (command.State == CommandState.Pending && !IsDue(command, now) && command.NotBefore.ToDateTimeOffset() is var at && (next is null || at < next))
            {
                next = at;
            }
        }

        return next;
    }

    /// <summary>Drops the oldest final commands beyond the history bound; live ones are never dropped.</summary>
    public void TrimHistory()
    {
        var commands = state.Commands;
        var final = commands.Count - commands.Count(IsLive);
        var trimmed = false;
        for (var i = 0; i < commands.Count && final > options.MaxCommandHistory;)
        {
            if (IsLive(commands[i]))
            {
                i++;
                continue;
            }

            commands.RemoveAt(i);
            final--;
            trimmed = true;
        }

        if (trimmed)
        {
            changed(null);
        }
    }

    private static void Finish(Command command, CommandState outcome, DateTimeOffset at, string message)
    {
        command.State = outcome;
        command.CompleteTime = Timestamp.FromDateTimeOffset(at);
        command.StatusMessage = message;
    }

    private static bool TryParseNumber(string commandId, out ulong number)
    {
        number = 0;
        return commandId.StartsWith(IdPrefix, StringComparison.Ordinal)
            && ulong.TryParse(commandId.AsSpan(IdPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    private static ulong Number(Command command) => TryParseNumber(command.CommandId, out var number) ? number : 0;

    private Command? FindByIdempotencyKey(string key, DateTimeOffset now)
    {
        foreach (var command in state.Commands)
        {
            if (command.IdempotencyKey == key && command.CreateTime.ToDateTimeOffset() + options.IdempotencyKeyLifetime > now)
            {
                return command;
            }
        }

        return null;
    }
}
