namespace Vehicles.Persistence;

/// <summary>
/// Durable reminders: a row per (grain type, grain key, reminder name). The runtime loads the rows at
/// start and fires each one at least once per period, also across restarts.
/// </summary>
public interface IReminderTable
{
    /// <summary>Inserts or replaces a reminder.</summary>
    Task UpsertAsync(ReminderEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Deletes a reminder; returns whether it existed.</summary>
    Task<bool> RemoveAsync(string grainType, string grainKey, string name, CancellationToken cancellationToken = default);

    /// <summary>Reads the reminders of one grain.</summary>
    Task<IReadOnlyList<ReminderEntry>> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads every reminder (of every grain). <paramref name="grainKeyFilter"/>, when given, keeps only
    /// rows whose key it accepts: a silo in a cluster loads only the reminders of the keys it owns.
    /// </summary>
    Task<IReadOnlyList<ReminderEntry>> ReadAllAsync(Func<string, string, bool>? grainKeyFilter = null, CancellationToken cancellationToken = default);
}

/// <summary>A durable reminder: first due time and period; a period of zero fires once.</summary>
public sealed record ReminderEntry(string GrainType, string GrainKey, string Name, DateTimeOffset StartAt, TimeSpan Period);
