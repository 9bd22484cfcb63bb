using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Vehicles.Persistence;

/// <summary>The SQLite file shared by grain storage and the reminder table: connection strings and migrations.</summary>
internal sealed class SqliteDatabase
{
    /// <summary>Ordered migrations; a released entry is never edited, a change is a new entry.</summary>
    internal static readonly IReadOnlyList<string> Migrations =
    [
        // 1: grain state. A cleared record keeps its row with data NULL so that its version keeps growing and
        // an ETag from before the clear can never match a record written after it.
        """
        CREATE TABLE grain_state (
            grain_type TEXT NOT NULL,
            grain_key TEXT NOT NULL,
            data BLOB,
            version INTEGER NOT NULL,
            PRIMARY KEY (grain_type, grain_key)
        ) WITHOUT ROWID;
        """,

        // 2: reminders; times as UTC ticks so that they round-trip exactly.
        """
        CREATE TABLE reminders (
            grain_type TEXT NOT NULL,
            grain_key TEXT NOT NULL,
            name TEXT NOT NULL,
            start_at_utc_ticks INTEGER NOT NULL,
            period_ticks INTEGER NOT NULL,
            PRIMARY KEY (grain_type, grain_key, name)
        ) WITHOUT ROWID;
        """,
    ];

    private readonly GrainStorageOptions _options;
    private readonly string _writerConnectionString;

    public SqliteDatabase(GrainStorageOptions options)
    {
        _options = options;
        var builder = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(Path.Combine(options.DataDirectory, options.DatabaseFileName)) }
            : new SqliteConnectionStringBuilder(options.ConnectionString);
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));
        DatabasePath = builder.DataSource;

        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        builder.Pooling = false;
        _writerConnectionString = builder.ToString();

        // Readers are pooled and read-only; in WAL mode they never block the writer nor wait for it.
        builder.Mode = SqliteOpenMode.ReadOnly;
        builder.Pooling = true;
        ReaderConnectionString = builder.ToString();
    }

    public string DatabasePath { get; }

    public string ReaderConnectionString { get; }

    /// <summary>Opens a connection that may write, set up for WAL, the busy timeout and the sync level.</summary>
    public SqliteConnection OpenWriter()
    {
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new SqliteConnection(_writerConnectionString);
        try
        {
            connection.Open();
            Execute(connection, string.Create(
                CultureInfo.InvariantCulture,
                $"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds}; PRAGMA journal_mode = WAL; PRAGMA synchronous = {(_options.SyncEveryCommit ? "FULL" : "NORMAL")};"));
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(ReaderConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Brings the schema to the latest version. Idempotent; safe against other connections and processes.</summary>
    public void Migrate(SqliteConnection writer, ILogger logger)
    {
        // IMMEDIATE takes the write lock up front, so two starters cannot both see the old version.
        using var transaction = writer.BeginTransaction(deferred: false);
        Execute(writer, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);", transaction);
        using var current = writer.CreateCommand();
        current.Transaction = transaction;
        current.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
        var version = Convert.ToInt32(current.ExecuteScalar(), CultureInfo.InvariantCulture);
        for (var next = version + 1; next <= Migrations.Count; next++)
        {
            Execute(writer, Migrations[next - 1], transaction);
            using var record = writer.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES ($version, $appliedAt);";
            record.Parameters.AddWithValue("$version", next);
            record.Parameters.AddWithValue("$appliedAt", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            record.ExecuteNonQuery();
        }

        transaction.Commit();
        if (version < Migrations.Count && logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("Migrated SQLite storage {Path} from schema version {From} to {To}", DatabasePath, version, Migrations.Count);
        }
    }

    /// <summary>Returns the pooled reader connections of this file, so that the file can be moved or deleted.</summary>
    public void ClearReaderPool()
    {
        using var connection = new SqliteConnection(ReaderConnectionString);
        SqliteConnection.ClearPool(connection);
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
