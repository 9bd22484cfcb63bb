namespace Vehicles.Persistence;

/// <summary>The database behind grain state and reminders.</summary>
public enum StorageProvider
{
    /// <summary>An embedded SQLite file under <see cref="GrainStorageOptions.DataDirectory"/>: the default for a single silo.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server shared by every silo of a cluster.</summary>
    PostgreSql,
}

/// <summary>
/// Settings of grain storage and the reminder table, bound from the configuration section
/// <c>"Storage"</c>: <c>{ "Provider": "Sqlite" | "PostgreSql", "ConnectionString": ..., "DataDirectory": "./data" }</c>.
/// </summary>
public sealed class GrainStorageOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Storage";

    /// <summary>Which database to use. Defaults to <see cref="StorageProvider.Sqlite"/>.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>
    /// The PostgreSQL connection string (required for <see cref="StorageProvider.PostgreSql"/>). For SQLite it
    /// is optional and, when given, replaces the file named by <see cref="DataDirectory"/> and <see cref="DatabaseFileName"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>SQLite: the folder that holds the database file; created when missing. Defaults to <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>SQLite: the database file name inside <see cref="DataDirectory"/>.</summary>
    public string DatabaseFileName { get; set; } = "vehicles.db";

    /// <summary>
    /// SQLite: how long a statement waits for a lock held by another connection or process before it fails.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// SQLite: fsync the write-ahead log at every commit (<c>synchronous=FULL</c>), so a completed write survives
    /// a power loss. When <see langword="false"/> (<c>synchronous=NORMAL</c>) a completed write survives a crash of
    /// the process but the last commits may be lost on power loss.
    /// </summary>
    public bool SyncEveryCommit { get; set; } = true;

    /// <summary>PostgreSQL: the schema that holds the tables; created when missing.</summary>
    public string Schema { get; set; } = "vehicles";

    /// <summary>The largest number of writes and clears sent to the database as one batch.</summary>
    public int MaxBatchSize { get; set; } = 2048;

    /// <summary>
    /// The most bytes of state one batch carries (a batch always takes at least one operation), so that large
    /// states make smaller batches rather than one huge statement.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// PostgreSQL: how many batches may be in flight at once, each on its own connection, so the server and
    /// this process work in parallel. SQLite always has a single writer.
    /// </summary>
    public int MaxConcurrentBatches { get; set; } = 2;

    /// <summary>Throws when a setting is out of range; <paramref name="requireConnectionString"/> when the provider builds its own connections.</summary>
    internal void Validate(bool requireConnectionString = true)
    {
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

        if (requireConnectionString && Provider == StorageProvider.PostgreSql && string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new InvalidOperationException("Storage:ConnectionString is required when Storage:Provider is PostgreSql.");
        }
    }
}
