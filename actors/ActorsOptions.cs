namespace Vehicles.Actors;

/// <summary>Options of the actor runtime, bound from the configuration section <c>"Actors"</c>.</summary>
public sealed class ActorsOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Actors";

    /// <summary>An activation idle (no message) for this long is deactivated. Default 15 minutes.</summary>
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A call not answered within this time fails with <see cref="TimeoutException"/>. Default 30 seconds.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Maximum pending (not yet started) messages per activation before calls fail with <see cref="MailboxFullException"/>. Default 10,000.</summary>
    public int MailboxCapacity { get; set; } = 10_000;

    /// <summary>
    /// How often the runtime checks for timed-out calls and idle activations. Timeouts fire between
    /// <see cref="CallTimeout"/> and <see cref="CallTimeout"/> plus twice this period. Default 1 second.
    /// </summary>
    public TimeSpan MaintenancePeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long <see cref="Grain.OnDeactivateAsync"/> may take before its token is cancelled. Default 30 seconds.
    /// (The token passed to <see cref="Grain.OnActivateAsync"/> is cancelled when the runtime stops.)
    /// </summary>
    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
