namespace Vehicles.Actors;

/// <summary>
/// Base class of grains. The runtime creates grains through dependency injection (constructor injection; durable state
/// through <see cref="PersistentStateAttribute"/> parameters) and runs every turn on the activation's scheduler, so grain
/// code never runs on two threads at once.
/// </summary>
/// <remarks>
/// Grain code must keep its awaits on the activation: <c>ConfigureAwait(false)</c>, <c>Task.Run</c> and
/// <c>Task.Factory.StartNew</c>/<c>ContinueWith</c> without a scheduler leave it, and code after them may race with the
/// next turn (the same rule as in Orleans).
/// </remarks>
public abstract class Grain
{
    [ThreadStatic]
    private static Activation? _constructing;

    private readonly Activation _activation;

    /// <summary>Creates the grain; only the runtime can (it sets the activation being constructed).</summary>
    /// <exception cref="InvalidOperationException">Called outside the runtime.</exception>
    protected Grain()
    {
        _activation = _constructing
            ?? throw new InvalidOperationException("Grains are created by the actor runtime; obtain a reference with IGrainFactory.GetGrain instead.");
    }

    /// <summary>The grain's key.</summary>
    public string GrainKey => _activation.GrainId.Key;

    /// <summary>The grain's id (grain type and key).</summary>
    public GrainId GrainId => _activation.GrainId;

    /// <summary>Creates references to other grains (and to this one).</summary>
    protected IGrainFactory GrainFactory => _activation.Runtime;

    internal Activation Activation => _activation;

    /// <summary>Runs once, after persistent state is read and before the first message.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs once before the activation goes away (idle collection, <see cref="DeactivateOnIdle"/>, shutdown). The runtime
    /// never writes state by itself: a grain with unsaved changes writes them here.
    /// </summary>
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Deactivates the grain once the running message completes; queued messages go to a fresh activation.</summary>
    protected void DeactivateOnIdle() => _activation.RequestDeactivation(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "DeactivateOnIdle was called."), onlyIfIdle: false);

    /// <summary>Keeps the activation from idle collection for at least <paramref name="timeSpan"/> from now.</summary>
    protected void DelayDeactivation(TimeSpan timeSpan) => _activation.DelayDeactivation(timeSpan);

    /// <summary>
    /// Registers a timer bound to this activation. A tick never overlaps the previous one (the period counts from the end
    /// of a tick) and, by default, is a turn like a message: it does not interleave (see
    /// <see cref="GrainTimerCreationOptions.Interleave"/>). Timers are disposed on deactivation.
    /// </summary>
    protected IGrainTimer RegisterGrainTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return RegisterGrainTimer(static (cb, ct) => cb(ct), callback, new GrainTimerCreationOptions { DueTime = dueTime, Period = period });
    }

    /// <summary>Registers a timer with state and options; see <see cref="RegisterGrainTimer(Func{CancellationToken, Task}, TimeSpan, TimeSpan)"/>.</summary>
    protected IGrainTimer RegisterGrainTimer<TState>(Func<TState, CancellationToken, Task> callback, TState state, GrainTimerCreationOptions options)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ArgumentNullException.ThrowIfNull(options);
        return _activation.RegisterTimer((s, ct) => callback((TState)s!, ct), state, options);
    }

    /// <summary>
    /// Registers (or replaces) a durable reminder: <see cref="IRemindable.ReceiveReminder"/> is called after
    /// <paramref name="dueTime"/> (a negative one counts as zero) and then every <paramref name="period"/> (zero: once),
    /// activating the grain if needed, also after a restart. Delivery is at least once.
    /// </summary>
    protected Task<IGrainReminder> RegisterOrUpdateReminder(string reminderName, TimeSpan dueTime, TimeSpan period)
        => _activation.Runtime.Reminders.RegisterOrUpdateAsync(_activation.GrainClass, GrainKey, reminderName, dueTime, period);

    /// <summary>Removes a durable reminder.</summary>
    protected Task UnregisterReminder(IGrainReminder reminder)
    {
        ArgumentNullException.ThrowIfNull(reminder);
        return _activation.Runtime.Reminders.UnregisterAsync(GrainId, reminder.ReminderName);
    }

    /// <summary>Finds a registered reminder of this grain by name.</summary>
    protected Task<IGrainReminder?> GetReminder(string reminderName) => Task.FromResult(_activation.Runtime.Reminders.Find(GrainId, reminderName));

    internal static Grain Construct(Activation activation, Func<Grain> create)
    {
        var previous = _constructing;
        _constructing = activation;
        try
        {
            return create();
        }
        finally
        {
            _constructing = previous;
        }
    }
}

/// <summary>Orleans-style helpers on grains.</summary>
public static class GrainExtensions
{
    /// <summary>The grain's string key.</summary>
    public static string GetPrimaryKeyString(this Grain grain)
    {
        ArgumentNullException.ThrowIfNull(grain);
        return grain.GrainKey;
    }

    /// <summary>A reference to this grain through one of its interfaces, to hand to other grains.</summary>
    public static TGrainInterface AsReference<TGrainInterface>(this Grain grain)
        where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(grain);
        return grain.Activation.Runtime.GetGrain<TGrainInterface>(grain.GrainKey);
    }
}
