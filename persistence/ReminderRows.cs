using System.Data.Common;

namespace Vehicles.Persistence;

/// <summary>The reminder row layout both providers select: grain_type, grain_key, name, start_at (UTC ticks), period (ticks).</summary>
internal static class ReminderRows
{
    /// <summary>Adds the reader's current row to <paramref name="entries"/> unless <paramref name="filter"/> rejects its key.</summary>
    public static void AddIfAccepted(DbDataReader reader, Func<string, string, bool>? filter, List<ReminderEntry> entries)
    {
        var grainType = reader.GetString(0);
        var grainKey = reader.GetString(1);
        if (filter is null || filter(grainType, grainKey))
        {
            entries.Add(new ReminderEntry(
                grainType,
                grainKey,
                reader.GetString(2),
                new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero),
                TimeSpan.FromTicks(reader.GetInt64(4))));
        }
    }
}
