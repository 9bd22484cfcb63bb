namespace Vehicles.Grains;

/// <summary>Settings of the vehicle and fleet grains, bound from the configuration section <c>"Vehicles"</c>.</summary>
public sealed class VehicleGrainOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Vehicles";

    /// <summary>How long a changed vehicle waits before its state is written (reports are batched into one write). Default 1 second.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A vehicle not heard from for this long goes offline and its session ends. Default 90 seconds.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Time to live of a command sent without one. Default 5 minutes.</summary>
    public TimeSpan DefaultCommandTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest time to live a command may ask for. Default 7 days.</summary>
    public TimeSpan MaxCommandTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Most live (PENDING or DELIVERED) commands per vehicle. Default 100.</summary>
    public int MaxQueuedCommands { get; set; } = 100;

    /// <summary>Most final commands kept per vehicle; the oldest beyond it are dropped. Default 200.</summary>
    public int MaxCommandHistory { get; set; } = 200;

    /// <summary>How far behind the newest sequence a status report may arrive and still be applied. Default 32.</summary>
    public int ReorderWindow { get; set; } = 32;

    /// <summary>How long an idempotency key returns its first command. Default 24 hours.</summary>
    public TimeSpan IdempotencyKeyLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Capacity of a session's outbound queue; a vehicle this far behind is disconnected. Default 256.</summary>
    public int SessionOutboundCapacity { get; set; } = 256;

    /// <summary>Capacity of one event subscription's queue; beyond it the oldest events are dropped. Default 256.</summary>
    public int EventSubscriptionCapacity { get; set; } = 256;

    /// <summary>How long a changed fleet waits before its membership is written. Default 1 second.</summary>
    public TimeSpan FleetCheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        Positive(CheckpointInterval, nameof(CheckpointInterval));
        Positive(HeartbeatTimeout, nameof(HeartbeatTimeout));
        Positive(DefaultCommandTtl, nameof(DefaultCommandTtl));
        Positive(MaxCommandTtl, nameof(MaxCommandTtl));
        Positive(IdempotencyKeyLifetime, nameof(IdempotencyKeyLifetime));
        Positive(FleetCheckpointInterval, nameof(FleetCheckpointInterval));
        AtLeastOne(MaxQueuedCommands, nameof(MaxQueuedCommands));
        AtLeastOne(MaxCommandHistory, nameof(MaxCommandHistory));
        AtLeastOne(ReorderWindow, nameof(ReorderWindow));
        AtLeastOne(SessionOutboundCapacity, nameof(SessionOutboundCapacity));
        AtLeastOne(EventSubscriptionCapacity, nameof(EventSubscriptionCapacity));
        if (DefaultCommandTtl > MaxCommandTtl)
        {
            throw new InvalidOperationException($"Vehicles:DefaultCommandTtl ({DefaultCommandTtl}) must not exceed Vehicles:MaxCommandTtl ({MaxCommandTtl}).");
        }
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Vehicles:{name} must be positive (was {value}).");
        }
    }

    private static void AtLeastOne(int value, string name)
    {
        if (value < 1)
        {
            throw new InvalidOperationException($"Vehicles:{name} must be at least 1 (was {value}).");
        }
    }
}
