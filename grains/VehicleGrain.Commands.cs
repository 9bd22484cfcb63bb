using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Vehicles.Actors;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// The command queue of a vehicle. Commands are kept in creation order, which is the delivery order (FIFO). A command is
/// written to storage before SendCommand, CancelCommand or a vehicle result returns; deliveries and expiries reach
/// storage with the next checkpoint (a lost delivery mark only means the command is delivered again).
/// </summary>
public sealed partial class VehicleGrain
{
    private const string NotBeforeReminder = "not-before";
    private const string CommandIdPrefix = "c";
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    private IGrainTimer? _expiryTimer;
    private DateTimeOffset? _scheduledReminderAt;

    /// <inheritdoc />
    public async Task<SendCommandResult> SendCommandAsync(CommandRequest commandRequest)
    {
        ArgumentNullException.ThrowIfNull(commandRequest);
        var now = _time.GetUtcNow();
        ExpireDue(now);
        var ttl = commandRequest.Ttl ?? _options.DefaultCommandTtl;
        if (ttl <= TimeSpan.Zero || ttl > _options.MaxCommandTtl)
        {
            return new SendCommandResult(SendCommandStatus.InvalidTtl, null, $"ttl must be between 1 second and {_options.MaxCommandTtl}.");
        }

        var parameters = commandRequest.Parameters ?? new CommandParameters();
        var notBefore = commandRequest.NotBefore is { } nb ? Timestamp.FromDateTimeOffset(nb) : null;
        if (!string.IsNullOrEmpty(commandRequest.IdempotencyKey) && FindByIdempotencyKey(commandRequest.IdempotencyKey, now) is { } earlier)
        {
            var same = earlier.Name == commandRequest.Name && earlier.Parameters.Equals(parameters)
                && earlier.Ttl.ToTimeSpan() == ttl && Equals(earlier.NotBefore, notBefore);
            return same
                ? new SendCommandResult(SendCommandStatus.Deduplicated, earlier.Clone())
                : new SendCommandResult(SendCommandStatus.IdempotencyKeyConflict, earlier.Clone(), "idempotency_key was already used for a different command.");
        }

        if (_state.State.Commands.Count(IsLive) >= _options.MaxQueuedCommands)
        {
            return new SendCommandResult(SendCommandStatus.QueueFull, null, $"the vehicle already has {_options.MaxQueuedCommands} live commands.");
        }

        var number = _state.State.LastCommandNumber + 1;
        var start = notBefore is not null && commandRequest.NotBefore > now ? commandRequest.NotBefore.Value : now;
        var command = new Command
        {
            CommandId = CommandIdPrefix + number.ToString(CultureInfo.InvariantCulture),
            Vin = Vin,
            Name = commandRequest.Name,
            Parameters = parameters.Clone(),
            State = CommandState.Pending,
            CreateTime = Timestamp.FromDateTimeOffset(now),
            NotBefore = notBefore,
            ExpireTime = Timestamp.FromDateTimeOffset(start + ttl),
            IdempotencyKey = commandRequest.IdempotencyKey ?? string.Empty,
            RequestedBy = commandRequest.RequestedBy,
            Ttl = Duration.FromTimeSpan(ttl),
        };

        _state.State.LastCommandNumber = number;
        _state.State.Commands.Add(command);
        try
        {
            await CheckpointAsync();
        }
        catch
        {
            // Not durable, so it never existed: the caller gets the error and may retry with the same key.
            _state.State.Commands.Remove(command);
            _state.State.LastCommandNumber = number - 1;
            _checkpoint.MarkDirty();
            throw;
        }

        PublishCommand(command);
        if (start > now)
        {
            await EnsureNotBeforeReminderAsync(now);
        }
        else
        {
            TryDeliver(command, now);
        }

        TrimHistory();
        ArmExpiryTimer(now);
        return new SendCommandResult(SendCommandStatus.Created, command.Clone());
    }

    /// <inheritdoc />
    public Task<Command?> GetCommandAsync(string commandId) => Task.FromResult(Find(commandId)?.Clone());

    /// <inheritdoc />
    public async Task<CancelCommandResult> CancelCommandAsync(string commandId)
    {
        var now = _time.GetUtcNow();
        ExpireDue(now);
        if (Find(commandId) is not { } command)
        {
            return new CancelCommandResult(CancelCommandStatus.NotFound, null);
        }

        if (!IsLive(command))
        {
            return new CancelCommandResult(CancelCommandStatus.AlreadyFinal, command.Clone());
        }

        var wasDelivered = command.State == CommandState.Delivered;
        Finish(command, CommandState.Canceled, now, "canceled by an operator");
        await CheckpointAsync();
        if (wasDelivered && _sessionId is { } sessionId)
        {
            _sessions.TryPush(Vin, sessionId, new ServerMessage { CommandCancel = new CommandCancel { CommandId = command.CommandId } });
        }

        PublishCommand(command);
        TrimHistory();
        return new CancelCommandResult(CancelCommandStatus.Canceled, command.Clone());
    }

    /// <inheritdoc />
    public async Task<CompleteCommandResult> CompleteCommandAsync(CommandResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var now = _time.GetUtcNow();
        Touch(now);
        ExpireDue(now);
        if (Find(result.CommandId) is not { } command)
        {
            return new CompleteCommandResult(CompleteCommandStatus.UnknownCommand, null);
        }

        if (!IsLive(command))
        {
            return new CompleteCommandResult(CompleteCommandStatus.AlreadyFinal, command.Clone());
        }

        var state = result.Outcome switch
        {
            CommandOutcome.Succeeded => CommandState.Succeeded,
            CommandOutcome.Rejected => CommandState.Rejected,
            _ => CommandState.Failed,
        };
        Finish(command, state, now, result.Message);
        command.Result = result.Payload?.Clone();

        // Written before the answer: a result lost in a crash would get the command delivered, and carried out, again.
        await CheckpointAsync();
        PublishCommand(command);
        TrimHistory();
        ArmExpiryTimer(now);
        return new CompleteCommandResult(CompleteCommandStatus.Completed, command.Clone());
    }

    /// <inheritdoc />
    public Task<CommandPage> ListCommandsAsync(int pageSize, string? pageToken)
    {
        var size = pageSize <= 0 ? DefaultPageSize : Math.Min(pageSize, MaxPageSize);
        var before = ulong.MaxValue;
        if (!string.IsNullOrEmpty(pageToken) && !TryParseNumber(pageToken, out before))
        {
            return Task.FromResult(new CommandPage([], string.Empty, InvalidPageToken: true));
        }

        var commands = _state.State.Commands;
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
        return Task.FromResult(new CommandPage(page, next));
    }
}
