namespace Vehicles.Actors;

/// <summary>Marker for grain interfaces. Every method of a grain interface returns Task, Task&lt;T&gt;, ValueTask or ValueTask&lt;T&gt;.</summary>
public interface IGrain;

/// <summary>Marker for grain interfaces whose grains are identified by a string key (a VIN, for instance).</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>Creates references to grains. A reference is cheap: creating one neither activates nor contacts the grain.</summary>
public interface IGrainFactory
{
    /// <summary>Returns a reference to the grain with the given key that implements <typeparamref name="TGrainInterface"/>.</summary>
    /// <exception cref="InvalidOperationException">No grain class implements the interface, or more than one does.</exception>
    TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : IGrainWithStringKey;
}

/// <summary>Implemented by grains that register durable reminders.</summary>
public interface IRemindable : IGrain
{
    /// <summary>Receives a reminder tick. Delivered as an ordinary (non-interleaving) message; activates the grain if needed.</summary>
    Task ReceiveReminder(string reminderName, TickStatus status);
}

/// <summary>Describes a reminder tick.</summary>
/// <param name="FirstTickTime">The due time the reminder was scheduled for, as stored (it moves forward after every delivered tick).</param>
/// <param name="Period">The period; <see cref="TimeSpan.Zero"/> for a one-shot reminder.</param>
/// <param name="CurrentTickTime">When this tick was delivered.</param>
public readonly record struct TickStatus(DateTimeOffset FirstTickTime, TimeSpan Period, DateTimeOffset CurrentTickTime);

/// <summary>A handle to a registered durable reminder.</summary>
public interface IGrainReminder
{
    /// <summary>The reminder's name, unique per grain.</summary>
    string ReminderName { get; }
}

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReasonCode
{
    /// <summary>No reason recorded.</summary>
    None,

    /// <summary>The activation was idle for longer than the collection age.</summary>
    IdleTimeout,

    /// <summary>The grain called <see cref="Grain.DeactivateOnIdle"/>.</summary>
    ApplicationRequested,

    /// <summary>The runtime is shutting down (<c>IHostedService.StopAsync</c>).</summary>
    ShuttingDown,

    /// <summary>Activation failed (OnActivateAsync or reading state threw).</summary>
    ActivationFailed,

    /// <summary>
    /// Cluster membership changed and another silo now owns the grain: the activation writes its state and hands over
    /// (Orleans calls this a migration). External resources the grain drives, such as a client's stream, stay up.
    /// </summary>
    PlacementChanged,
}

/// <summary>The reason passed to <see cref="Grain.OnDeactivateAsync"/>.</summary>
/// <param name="ReasonCode">The kind of reason.</param>
/// <param name="Description">A human-readable description.</param>
public readonly record struct DeactivationReason(DeactivationReasonCode ReasonCode, string Description);

/// <summary>
/// Lets a grain class accept new messages while a message is awaiting: every method interleaves with every other.
/// Grain code still never runs on two threads at once; only the points of interleaving are the awaits.
/// </summary>
/// <remarks>
/// Without it a grain that calls itself, or a cycle of calls (A calls B calls A), waits until the call timeout, as in
/// Orleans without call-chain reentrancy.
/// </remarks>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class ReentrantAttribute : Attribute;

/// <summary>Marks an interface method as interleaving with any other message, whatever else is running.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AlwaysInterleaveAttribute : Attribute;

/// <summary>
/// Marks an interface method as not changing grain state: read-only calls run together (interleave with each other)
/// but never alongside a call that is not read-only.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ReadOnlyAttribute : Attribute;

/// <summary>Names the grain type of a class (used in storage and reminder rows). Defaults to the class name, lower-cased, without a "Grain" suffix.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    /// <summary>The grain type name.</summary>
    public string Name { get; } = name;
}

/// <summary>
/// Marks a grain constructor parameter of type <see cref="IPersistentState{TState}"/> to be injected with durable state,
/// read before <see cref="Grain.OnActivateAsync"/>.
/// </summary>
/// <param name="stateName">The state's name; with the grain type it names the storage row (<c>"{grainType}/{stateName}"</c>).</param>
/// <param name="storageName">The storage provider: a keyed <c>IGrainStorage</c> service of that name, else the unkeyed one.</param>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PersistentStateAttribute(string stateName, string storageName = PersistentStateAttribute.DefaultStorageName) : Attribute
{
    /// <summary>The name of the default storage provider.</summary>
    public const string DefaultStorageName = "Default";

    /// <summary>The state's name.</summary>
    public string StateName { get; } = stateName;

    /// <summary>The storage provider's name.</summary>
    public string StorageName { get; } = storageName;
}

/// <summary>Durable grain state, injected into a grain constructor with <see cref="PersistentStateAttribute"/>.</summary>
/// <typeparam name="TState">The state type: a Google.Protobuf message, or a type System.Text.Json can round-trip.</typeparam>
public interface IPersistentState<TState>
{
    /// <summary>The state. A new, default instance when nothing is stored.</summary>
    TState State { get; set; }

    /// <summary>The ETag of the stored record, or <see langword="null"/> when none exists.</summary>
    string? Etag { get; }

    /// <summary>Whether a record exists in storage.</summary>
    bool RecordExists { get; }

    /// <summary>Reads the state from storage, replacing <see cref="State"/>.</summary>
    Task ReadStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes <see cref="State"/> to storage.</summary>
    /// <exception cref="Vehicles.Persistence.InconsistentStateException">The stored ETag changed since the last read or write; nothing was written.</exception>
    Task WriteStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the stored record and resets <see cref="State"/> to a new instance.</summary>
    /// <exception cref="Vehicles.Persistence.InconsistentStateException">The stored ETag changed since the last read or write; nothing was deleted.</exception>
    Task ClearStateAsync(CancellationToken cancellationToken = default);
}

/// <summary>A timer registered with <see cref="Grain.RegisterGrainTimer(Func{CancellationToken, Task}, TimeSpan, TimeSpan)"/>.</summary>
public interface IGrainTimer : IDisposable
{
    /// <summary>Changes when the next tick is due and the period that follows it.</summary>
    void Change(TimeSpan dueTime, TimeSpan period);
}

/// <summary>Options of a grain timer.</summary>
public sealed record GrainTimerCreationOptions
{
    /// <summary>Delay before the first tick.</summary>
    public required TimeSpan DueTime { get; init; }

    /// <summary>Delay between the end of a tick and the start of the next; <see cref="Timeout.InfiniteTimeSpan"/> ticks once.</summary>
    public required TimeSpan Period { get; init; }

    /// <summary>
    /// When <see langword="false"/> (the default, as in Orleans 8) a tick is a turn like a message: it waits for running
    /// messages and blocks others until it completes. When <see langword="true"/> it interleaves like an
    /// <see cref="AlwaysInterleaveAttribute"/> method.
    /// </summary>
    public bool Interleave { get; init; }

    /// <summary>Whether a tick counts as activity and so postpones idle collection. Default <see langword="false"/>.</summary>
    public bool KeepAlive { get; init; }
}

/// <summary>Thrown to a caller when the target activation already holds <see cref="ActorsOptions.MailboxCapacity"/> pending messages.</summary>
public sealed class MailboxFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MailboxFullException(GrainId grainId, int capacity)
        : base($"The mailbox of grain {grainId} is full ({capacity} pending messages); the call was rejected. Retry later or raise Actors:MailboxCapacity.")
    {
        GrainId = grainId;
        Capacity = capacity;
    }

    /// <summary>The grain whose mailbox overflowed.</summary>
    public GrainId GrainId { get; }

    /// <summary>The configured capacity.</summary>
    public int Capacity { get; }
}

/// <summary>Identifies a grain: its grain type name and its key.</summary>
/// <param name="Type">The grain type name (see <see cref="GrainTypeAttribute"/>).</param>
/// <param name="Key">The grain key.</param>
public readonly record struct GrainId(string Type, string Key)
{
    /// <inheritdoc />
    public override string ToString() => Type + "/" + Key;
}
