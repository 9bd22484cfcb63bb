using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Vehicles.Storage;

/// <summary>The connection strings and data sources derived from <see cref="VehicleStorageOptions"/>.</summary>
internal static class StorageConnections
{
    /// <summary>Orleans' invariant for PostgreSQL.</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>Orleans' invariant for SQLite; Orleans serves it with the Microsoft.Data.Sqlite driver.</summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    /// <summary>
    /// The PostgreSQL connection string with <c>search_path</c> set to our schema: the providers look up
    /// <c>OrleansQuery</c> by its bare name.
    /// </summary>
    public static string PostgresConnectionString(VehicleStorageOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString) { SearchPath = options.Schema };
        return builder.ConnectionString;
    }

    /// <summary>The SQLite connection string: an absolute file path, pooled, with the busy timeout as command timeout.</summary>
    public static string SqliteConnectionString(VehicleStorageOptions options)
    {
        var builder = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new SqliteConnectionStringBuilder
            {
                DataSource = Path.GetFullPath(Path.Combine(options.DataDirectory, options.DatabaseFileName)),
            }
            : new SqliteConnectionStringBuilder(options.ConnectionString);
        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        builder.Pooling = true;
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));
        return builder.ConnectionString;
    }

    /// <summary>The folder of the SQLite file, created when missing (SQLite creates the file, not its folder).</summary>
    public static void EnsureSqliteDirectory(string connectionString)
    {
        var path = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (path.Length == 0 || path == ":memory:" || path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }

    /// <summary>Per-connection settings: the busy timeout and the sync level (neither is kept in the file).</summary>
    public static string SqliteConnectionPragmas(VehicleStorageOptions options) => string.Create(
        CultureInfo.InvariantCulture,
        $"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(options.SyncEveryCommit ? "FULL" : "NORMAL")};");

    /// <summary>Opens a SQLite connection with <see cref="SqliteConnectionPragmas"/> applied.</summary>
    public static async Task<SqliteConnection> OpenSqliteAsync(string connectionString, string pragmas, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = pragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
