using System.Data.Common;
using System.Globalization;

namespace Vehicles.Storage;

/// <summary>
/// Our SQLite schema: grain state of <see cref="SqliteGrainStorage"/> (from step 3; step 1 created the layout of
/// Orleans' ADO.NET grain storage and its <c>OrleansQuery</c> statements, which step 3 retires), and the reminder
/// table of <see cref="SqliteReminderTable"/>. Orleans has no SQLite clustering.
/// </summary>
internal static class SqliteSchema
{
    public static IReadOnlyList<SchemaStep> Steps { get; } =
    [
        new SchemaStep(1, "query table and grain state", GrainState, GrainStateQueries()),
        new SchemaStep(2, "reminders", Reminders, new Dictionary<string, string>()),
        new SchemaStep(3, "grain state of the batched grain storage", BatchedGrainState, new Dictionary<string, string>(), SetAsideAdoNetGrainStateAsync),
    ];

    // Step 3: grain state moves to BatchedGrainStorage (SqliteGrainStorage), keyed by the grain id string; the
    // ADO.NET table is dropped or set aside by SetAsideAdoNetGrainStateAsync first. OrleansQuery held only the ADO.NET
    // storage statements (reminders are SqliteReminderTable's own): nothing reads it any more.
    private const string BatchedGrainState = """
        CREATE TABLE IF NOT EXISTS grain_state (
            service_id TEXT NOT NULL,
            grain_id TEXT NOT NULL,
            state_name TEXT NOT NULL,
            payload BLOB,
            version INTEGER NOT NULL,
            modified_at TEXT NOT NULL,
            PRIMARY KEY (service_id, grain_id, state_name)
        ) WITHOUT ROWID;
        DROP TABLE IF EXISTS OrleansQuery;
        """;

    /// <summary>
    /// The ADO.NET layout of step 1 (grain_id_n0/n1, grain_key) cannot be converted: it does not keep the grain type.
    /// An empty ADO.NET table is dropped (every new install); one with rows is kept as grain_state_adonet for an
    /// operator to inspect; nothing reads it. Only while grain_state has the ADO.NET columns, so safe to run again.
    /// </summary>
    private static async Task SetAsideAdoNetGrainStateAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (Convert.ToInt64(await ScalarAsync("SELECT COUNT(*) FROM pragma_table_info('grain_state') WHERE name = 'grain_id_n0';"), CultureInfo.InvariantCulture) == 0)
        {
            return;
        }

        var hasRows = Convert.ToInt64(await ScalarAsync("SELECT EXISTS (SELECT 1 FROM grain_state);"), CultureInfo.InvariantCulture) != 0;
        await ScalarAsync(hasRows ? "ALTER TABLE grain_state RENAME TO grain_state_adonet;" : "DROP TABLE grain_state;");

        async Task<object?> ScalarAsync(string sql)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            return await command.ExecuteScalarAsync(cancellationToken);
        }
    }

    // state_name holds what Orleans passes as "grain type": the state name (Orleans issue #9737). grain_key is the
    // string key or key extension ('' for none). version is the ETag; a clear keeps the row with payload NULL.
    private const string GrainState = """
        CREATE TABLE IF NOT EXISTS OrleansQuery (
            QueryKey TEXT PRIMARY KEY,
            QueryText TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS grain_state (
            service_id TEXT NOT NULL,
            state_name TEXT NOT NULL,
            grain_id_n0 INTEGER NOT NULL,
            grain_id_n1 INTEGER NOT NULL,
            grain_key TEXT NOT NULL,
            payload BLOB,
            version INTEGER NOT NULL,
            modified_at TEXT NOT NULL,
            PRIMARY KEY (service_id, state_name, grain_id_n0, grain_id_n1, grain_key)
        ) WITHOUT ROWID;
        """;

    private static Dictionary<string, string> GrainStateQueries()
    {
        const string ThisGrain = """
            service_id = @ServiceId AND state_name = @GrainTypeString
            AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
            AND grain_key = COALESCE(@GrainIdExtensionString, '')
            """;
        const string Now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
        return new()
        {
            ["ReadFromStorageKey"] = $"""
                SELECT payload AS PayloadBinary, version AS Version
                FROM grain_state
                WHERE {ThisGrain};
                """,

            // Two statements, at most one of which can change a row: the update when a version is expected, the
            // insert when none is. Each returns the new version; no row back at all means an ETag conflict.
            ["WriteToStorageKey"] = $"""
                UPDATE grain_state
                SET payload = @PayloadBinary, version = version + 1, modified_at = {Now}
                WHERE {ThisGrain}
                  AND @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
                RETURNING version AS NewGrainStateVersion;
                INSERT INTO grain_state (service_id, state_name, grain_id_n0, grain_id_n1, grain_key, payload, version, modified_at)
                SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''), @PayloadBinary, 1, {Now}
                WHERE @GrainStateVersion IS NULL
                ON CONFLICT DO NOTHING
                RETURNING version AS NewGrainStateVersion;
                """,

            ["ClearStorageKey"] = $"""
                UPDATE grain_state
                SET payload = NULL, version = version + 1, modified_at = {Now}
                WHERE {ThisGrain} AND version = @GrainStateVersion
                RETURNING version AS NewGrainStateVersion;
                """,

            ["DeleteStorageKey"] = $"""
                DELETE FROM grain_state
                WHERE {ThisGrain} AND version = @GrainStateVersion
                RETURNING version + 1 AS NewGrainStateVersion;
                """,
        };
    }

    // Times as UTC ticks so that they round-trip exactly; grain_hash is the unsigned uniform hash of the grain.
    private const string Reminders = """
        CREATE TABLE IF NOT EXISTS reminders (
            service_id TEXT NOT NULL,
            grain_id TEXT NOT NULL,
            reminder_name TEXT NOT NULL,
            start_at_ticks INTEGER NOT NULL,
            period_ticks INTEGER NOT NULL,
            grain_hash INTEGER NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (service_id, grain_id, reminder_name)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS reminders_by_hash ON reminders (service_id, grain_hash);
        """;
}
