using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Vehicles.Storage;

/// <summary>
/// Creates and migrates our schema: numbered steps, each recorded in a <c>schema_version</c> table, applied in one
/// transaction. On PostgreSQL the transaction first takes <c>pg_advisory_xact_lock</c> keyed by the schema, so that of
/// several silos starting at once one migrates and the others wait and find nothing left to do; on SQLite it is a
/// <c>BEGIN IMMEDIATE</c> transaction, which takes the write lock up front. Every step is also safe to run again.
/// </summary>
/// <remarks>
/// <see cref="VehicleStorageSiloBuilderExtensions.AddVehicleStorage"/> runs it in the silo lifecycle before
/// <c>RuntimeInitialize</c>, so before Orleans' providers read <c>OrleansQuery</c>. A host may also call it itself.
/// </remarks>
public static class VehicleSchema
{
    /// <summary>The table that records the applied steps.</summary>
    public const string VersionTable = "schema_version";

    /// <summary>The version the schema of <paramref name="provider"/> has after <see cref="EnsureAsync"/>.</summary>
    public static int LatestVersion(VehicleStorageProvider provider) => provider == VehicleStorageProvider.PostgreSql
        ? PostgresSchema.Steps("vehicles").Count
        : SqliteSchema.Steps.Count;

    /// <summary>
    /// Brings the schema named by <paramref name="options"/> to <see cref="LatestVersion"/>. Idempotent; safe to run
    /// from several processes at once.
    /// </summary>
    /// <returns>How many steps this call applied (0 when the schema was already current).</returns>
    public static Task<int> EnsureAsync(VehicleStorageOptions options, ILogger? logger = null, CancellationToken cancellationToken = default)
        => EnsureToVersionAsync(options, int.MaxValue, logger, cancellationToken);

    /// <summary>Brings the schema to <paramref name="targetVersion"/> (tests of upgrades from an older version).</summary>
    internal static async Task<int> EnsureToVersionAsync(VehicleStorageOptions options, int targetVersion, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        logger ??= NullLogger.Instance;
        return options.Provider == VehicleStorageProvider.PostgreSql
            ? await EnsurePostgresAsync(options, targetVersion, logger, cancellationToken)
            : await EnsureSqliteAsync(options, targetVersion, logger, cancellationToken);
    }

    /// <summary>A stable 64-bit key (FNV-1a) for the schema's advisory lock, the same in every process.</summary>
    internal static long AdvisoryLockKey(string schema)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes("Vehicles.Storage/" + schema))
        {
            hash = unchecked((hash ^ b) * 1099511628211UL);
        }

        return unchecked((long)hash);
    }

    private static async Task<int> EnsurePostgresAsync(VehicleStorageOptions options, int targetVersion, ILogger logger, CancellationToken cancellationToken)
    {
        var schema = "\"" + options.Schema + "\"";
        var steps = PostgresSchema.Steps(options.Schema);
        await using var connection = new NpgsqlConnection(options.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1);", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdvisoryLockKey(options.Schema) });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await ExecuteAsync(connection, transaction, $"""
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {schema}.{VersionTable} (
                version integer PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """, cancellationToken);

        var current = await ScalarIntAsync(connection, transaction, $"SELECT COALESCE(MAX(version), 0) FROM {schema}.{VersionTable};", cancellationToken);
        var applied = 0;
        foreach (var step in steps.Where(step => step.Version > current && step.Version <= targetVersion))
        {
            if (step.Prepare is not null)
            {
                await step.Prepare(connection, transaction, cancellationToken);
            }

            await ExecuteAsync(connection, transaction, step.Ddl, cancellationToken);
            foreach (var (key, text) in step.Queries)
            {
                await using var upsert = new NpgsqlCommand(
                    $"INSERT INTO {schema}.orleansquery (querykey, querytext) VALUES ($1, $2) ON CONFLICT (querykey) DO UPDATE SET querytext = excluded.querytext;",
                    connection,
                    transaction);
                upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
                upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = text });
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var record = new NpgsqlCommand($"INSERT INTO {schema}.{VersionTable} (version, description) VALUES ($1, $2);", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = step.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = step.Description });
            await record.ExecuteNonQueryAsync(cancellationToken);
            applied++;
        }

        await transaction.CommitAsync(cancellationToken);
        if (applied > 0 && logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("Migrated PostgreSQL schema {Schema} from version {From} to {To}", options.Schema, current, current + applied);
        }

        return applied;
    }

    private static async Task<int> EnsureSqliteAsync(VehicleStorageOptions options, int targetVersion, ILogger logger, CancellationToken cancellationToken)
    {
        var connectionString = StorageConnections.SqliteConnectionString(options);
        StorageConnections.EnsureSqliteDirectory(connectionString);
        await using var connection = await StorageConnections.OpenSqliteAsync(
            connectionString, StorageConnections.SqliteConnectionPragmas(options), cancellationToken);

        // WAL is a property of the file: set once here, every later connection (Orleans' too) uses it.
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);

        // deferred: false is BEGIN IMMEDIATE: the write lock up front, so two starters cannot both see the old version.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await ExecuteAsync(connection, transaction, $"""
            CREATE TABLE IF NOT EXISTS {VersionTable} (
                version INTEGER PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at TEXT NOT NULL
            );
            """, cancellationToken);
        var current = await ScalarIntAsync(connection, transaction, $"SELECT COALESCE(MAX(version), 0) FROM {VersionTable};", cancellationToken);
        var applied = 0;
        foreach (var step in SqliteSchema.Steps.Where(step => step.Version > current && step.Version <= targetVersion))
        {
            if (step.Prepare is not null)
            {
                await step.Prepare(connection, transaction, cancellationToken);
            }

            await ExecuteAsync(connection, transaction, step.Ddl, cancellationToken);
            foreach (var (key, text) in step.Queries)
            {
                await using var upsert = connection.CreateCommand();
                upsert.Transaction = transaction;
                upsert.CommandText = "INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ($key, $text) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;";
                upsert.Parameters.AddWithValue("$key", key);
                upsert.Parameters.AddWithValue("$text", text);
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = $"INSERT INTO {VersionTable} (version, description, applied_at) VALUES ($version, $description, $appliedAt);";
            record.Parameters.AddWithValue("$version", step.Version);
            record.Parameters.AddWithValue("$description", step.Description);
            record.Parameters.AddWithValue("$appliedAt", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            await record.ExecuteNonQueryAsync(cancellationToken);
            applied++;
        }

        await transaction.CommitAsync(cancellationToken);
        if (applied > 0 && logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("Migrated SQLite storage {Path} from version {From} to {To}", connection.DataSource, current, current + applied);
        }

        return applied;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<int> ScalarIntAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }
}
