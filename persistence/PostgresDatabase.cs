using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Vehicles.Persistence;

/// <summary>The PostgreSQL schema shared by grain storage and the reminder table, and its migrations.</summary>
internal sealed partial class PostgresDatabase
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresDatabase(NpgsqlDataSource dataSource, string schema)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(schema);
        if (!ValidSchemaName().IsMatch(schema))
        {
            throw new ArgumentException($"'{schema}' is not a valid schema name: use letters, digits and underscores, not starting with a digit.", nameof(schema));
        }

        _dataSource = dataSource;
        SchemaName = schema;
        Schema = "\"" + schema + "\"";
    }

    public NpgsqlDataSource DataSource => _dataSource;

    public string SchemaName { get; }

    /// <summary>The schema name quoted for SQL.</summary>
    public string Schema { get; }

    /// <summary>Ordered migrations, each given the quoted schema name; a released entry is never edited.</summary>
    internal static IReadOnlyList<Func<string, string>> Migrations { get; } =
    [
        // 1: grain state. A cleared record keeps its row with data NULL so that its version keeps growing and
        // an ETag from before the clear never matches a record written after it. Rows are updated in place
        // all the time: the fill factor leaves room for HOT updates (no index covers data or version).
        schema => $"""
            CREATE TABLE {schema}.grain_state (
                grain_type text NOT NULL,
                grain_key text NOT NULL,
                data bytea,
                version bigint NOT NULL,
                PRIMARY KEY (grain_type, grain_key)
            ) WITH (fillfactor = 80);
            """,

        // 2: reminders; times as UTC ticks so that they round-trip exactly (timestamptz keeps microseconds).
        schema => $"""
            CREATE TABLE {schema}.reminders (
                grain_type text NOT NULL,
                grain_key text NOT NULL,
                name text NOT NULL,
                start_at_utc_ticks bigint NOT NULL,
                period_ticks bigint NOT NULL,
                PRIMARY KEY (grain_type, grain_key, name)
            );
            """,
    ];

    /// <summary>
    /// Brings the schema to the latest version. Idempotent, and safe when several silos start at once: a
    /// transaction-scoped advisory lock, keyed by the schema, lets one of them migrate while the others wait
    /// and then find nothing left to do.
    /// </summary>
    public async Task MigrateAsync(ILogger logger, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1);", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdvisoryLockKey(SchemaName) });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await ExecuteAsync(connection, transaction, $"""
            CREATE SCHEMA IF NOT EXISTS {Schema};
            CREATE TABLE IF NOT EXISTS {Schema}.schema_version (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """, cancellationToken);

        int version;
        await using (var command = new NpgsqlCommand($"SELECT COALESCE(MAX(version), 0) FROM {Schema}.schema_version;", connection, transaction))
        {
            version = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
        }

        for (var next = version + 1; next <= Migrations.Count; next++)
        {
            await ExecuteAsync(connection, transaction, Migrations[next - 1](Schema), cancellationToken);
            await using var record = new NpgsqlCommand($"INSERT INTO {Schema}.schema_version (version) VALUES ($1);", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = next });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        if (version < Migrations.Count && logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("Migrated PostgreSQL storage schema {Schema} from version {From} to {To}", SchemaName, version, Migrations.Count);
        }
    }

    /// <summary>A stable 64-bit key (FNV-1a) for the schema, the same in every process.</summary>
    internal static long AdvisoryLockKey(string schema)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes("Vehicles.Persistence/" + schema))
        {
            hash = unchecked((hash ^ b) * 1099511628211UL);
        }

        return unchecked((long)hash);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidSchemaName();
}
