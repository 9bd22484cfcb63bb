using System.Text.RegularExpressions;

namespace Vehicles.Storage;

/// <summary>The database behind grain state and reminders.</summary>
public enum VehicleStorageProvider
{
    /// <summary>An embedded SQLite file under <see cref="VehicleStorageOptions.DataDirectory"/>: grain state and reminders of a single silo.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server shared by every silo: grain state, reminders and cluster membership.</summary>
    PostgreSql,
}

/// <summary>
/// Settings of the storage, bound from the configuration section <c>"Storage"</c>:
/// <c>{ "Provider": "Sqlite" | "PostgreSql", "ConnectionString": ..., "DataDirectory": "./data", "Schema": "vehicles" }</c>.
/// </summary>
public sealed partial class VehicleStorageOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Storage";

    /// <summary>Which database to use. Defaults to <see cref="VehicleStorageProvider.Sqlite"/>.</summary>
    public VehicleStorageProvider Provider { get; set; } = VehicleStorageProvider.Sqlite;

    /// <summary>
    /// The PostgreSQL connection string (required for <see cref="VehicleStorageProvider.PostgreSql"/>). For SQLite it
    /// is optional and, when given, replaces the file named by <see cref="DataDirectory"/> and <see cref="DatabaseFileName"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>SQLite: the folder that holds the database file; created when missing. Defaults to <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>SQLite: the database file name inside <see cref="DataDirectory"/>.</summary>
    public string DatabaseFileName { get; set; } = "vehicles.db";

    /// <summary>SQLite: how long a statement waits for a lock held by another connection before it fails.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// SQLite: fsync the write-ahead log at every commit (<c>synchronous=FULL</c>), so that a completed write survives
    /// a power loss. When <see langword="false"/> (<c>synchronous=NORMAL</c>) a completed write survives a crash of the
    /// process but the last commits may be lost on power loss.
    /// </summary>
    public bool SyncEveryCommit { get; set; } = true;

    /// <summary>PostgreSQL: the schema that holds every table; created when missing. Defaults to <c>vehicles</c>.</summary>
    public string Schema { get; set; } = "vehicles";

    /// <summary>Grain storage: the most writes and clears sent to the database as one batch (one statement or transaction).</summary>
    public int MaxBatchSize { get; set; } = 2048;

    /// <summary>
    /// Grain storage: the most bytes of state one batch carries (a batch always takes at least one operation), so that
    /// large states make smaller batches rather than one huge statement.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Grain storage on PostgreSQL: how many batches may be in flight at once, each on its own pooled connection, so
    /// that the server and this process work in parallel. SQLite always has a single writer.
    /// </summary>
    public int MaxConcurrentBatches { get; set; } = 2;

    /// <summary>Throws when a setting is missing or out of range.</summary>
    public void Validate()
    {
        if (Provider == VehicleStorageProvider.PostgreSql)
        {
            if (string.IsNullOrWhiteSpace(ConnectionString))
            {
                throw new InvalidOperationException("Storage:ConnectionString is required when Storage:Provider is PostgreSql.");
            }

            if (!ValidSchemaName().IsMatch(Schema ?? string.Empty))
            {
                throw new InvalidOperationException(
                    $"Storage:Schema '{Schema}' is not valid: use lower-case letters, digits and underscores, not starting with a digit (at most 63).");
            }
        }
        else if (string.IsNullOrWhiteSpace(ConnectionString)
            && (string.IsNullOrWhiteSpace(DataDirectory) || string.IsNullOrWhiteSpace(DatabaseFileName)))
        {
            throw new InvalidOperationException("Storage:DataDirectory and Storage:DatabaseFileName are required when Storage:Provider is Sqlite.");
        }

        if (MaxBatchSize < 1)
        {
            throw new InvalidOperationException($"Storage:MaxBatchSize must be at least 1 (was {MaxBatchSize}).");
        }

        if (MaxBatchBytes < 1)
        {
            throw new InvalidOperationException($"Storage:MaxBatchBytes must be at least 1 (was {MaxBatchBytes}).");
        }

        if (MaxConcurrentBatches < 1)
        {
            throw new InvalidOperationException($"Storage:MaxConcurrentBatches must be at least 1 (was {MaxConcurrentBatches}).");
        }

        if (BusyTimeout < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Storage:BusyTimeout must not be negative (was {BusyTimeout}).");
        }
    }

    // Lower case only: PostgreSQL folds unquoted names, and the providers' lookup of OrleansQuery goes through search_path.
    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidSchemaName();
}
