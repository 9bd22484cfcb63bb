namespace Vehicles.Storage;

/// <summary>
/// Our SQLite schema: grain state, read and written by Orleans' ADO.NET grain storage through the statements in
/// <c>OrleansQuery</c> (only its query keys, parameter names, result columns and ETag rules are the provider's
/// contract), and the reminder table of <see cref="SqliteReminderTable"/>. Orleans has no SQLite clustering.
/// </summary>
internal static class SqliteSchema
{
    public static IReadOnlyList<SchemaStep> Steps { get; } =
    [
        new SchemaStep(1, "query table and grain state", GrainState, GrainStateQueries()),
        new SchemaStep(2, "reminders", Reminders, new Dictionary<string, string>()),
    ];

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
