namespace Vehicles.Storage;

/// <summary>
/// Our PostgreSQL schema: cluster membership, grain state (of <see cref="PostgresGrainStorage"/> from step 4, which
/// retires the ADO.NET layout of step 2) and reminders, plus the statements Orleans' ADO.NET clustering and
/// reminders read from <c>OrleansQuery</c> at start. Only the query keys, parameter names (<c>@Name</c>), result
/// column names and the ETag rules are the providers' contract; tables, columns and statement text are ours.
/// Statements name their tables with the schema, and the providers find <c>OrleansQuery</c> itself through the
/// <c>search_path</c> that <see cref="StorageConnections"/> puts in their connection string.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>The ordered steps for <paramref name="schema"/> (a validated, lower-case name).</summary>
    public static IReadOnlyList<SchemaStep> Steps(string schema)
    {
        var s = "\"" + schema + "\"";
        return
        [
            new SchemaStep(1, "query table and cluster membership", Membership(s), MembershipQueries(s)),
            new SchemaStep(2, "grain state", GrainState(s), GrainStateQueries(s)),
            new SchemaStep(3, "reminders", Reminders(s), ReminderQueries(s)),
            new SchemaStep(4, "grain state of the batched grain storage", BatchedGrainState(schema, s), new Dictionary<string, string>()),
        ];
    }

    /// <summary>The persistence statements of Orleans' ADO.NET grain storage, which step 4 removes.</summary>
    public static readonly IReadOnlyList<string> AdoNetStorageQueryKeys = ["ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey"];

    // Step 4: grain state moves to BatchedGrainStorage (PostgresGrainStorage), keyed by the grain id string. The
    // ADO.NET layout of step 2 (grain_id_n0/n1, grain_key) cannot be converted: it does not keep the grain type. So
    // an empty ADO.NET table is dropped (every new install), and one with rows is kept, renamed to
    // grain_state_adonet, for an operator to inspect; nothing reads it. The ADO.NET persistence statements leave
    // OrleansQuery. Safe to run again: the rename or drop happens only while grain_state has the ADO.NET columns.
    private static string BatchedGrainState(string schema, string s) => $"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = '{schema}' AND table_name = 'grain_state' AND column_name = 'grain_id_n0') THEN
                IF EXISTS (SELECT 1 FROM {s}.grain_state) THEN
                    ALTER TABLE {s}.grain_state RENAME TO grain_state_adonet;
                    ALTER INDEX {s}.grain_state_pkey RENAME TO grain_state_adonet_pkey;
                    RAISE WARNING 'grain state of Orleans'' ADO.NET storage kept as %.grain_state_adonet: it is not read any more', '{schema}';
                ELSE
                    DROP TABLE {s}.grain_state;
                END IF;
            END IF;
        END
        $$;
        CREATE TABLE IF NOT EXISTS {s}.grain_state (
            service_id text COLLATE "C" NOT NULL,
            grain_id text COLLATE "C" NOT NULL,
            state_name text COLLATE "C" NOT NULL,
            payload bytea,
            version bigint NOT NULL,
            modified_at timestamptz NOT NULL,
            PRIMARY KEY (service_id, grain_id, state_name)
        ) WITH (fillfactor = 80);
        DELETE FROM {s}.orleansquery WHERE querykey IN ({string.Join(", ", AdoNetStorageQueryKeys.Select(key => $"'{key}'"))});
        """;

    // Membership: one version row per cluster (the table's ETag) and one row per silo incarnation.
    // The providers send DeploymentId = ClusterOptions.ClusterId.
    private static string Membership(string s) => $"""
        CREATE TABLE IF NOT EXISTS {s}.orleansquery (
            querykey text PRIMARY KEY,
            querytext text NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {s}.membership_version (
            cluster_id text PRIMARY KEY,
            version integer NOT NULL DEFAULT 0,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS {s}.membership (
            cluster_id text NOT NULL REFERENCES {s}.membership_version (cluster_id) ON DELETE CASCADE,
            address text NOT NULL,
            port integer NOT NULL,
            generation integer NOT NULL,
            silo_name text NOT NULL,
            host_name text NOT NULL,
            status integer NOT NULL,
            proxy_port integer NOT NULL,
            suspect_times text,
            started_at timestamptz NOT NULL,
            i_am_alive_at timestamptz NOT NULL,
            PRIMARY KEY (cluster_id, address, port, generation)
        );
        """;

    private static Dictionary<string, string> MembershipQueries(string s)
    {
        const string MemberColumns = """
            v.cluster_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
            m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
            m.suspect_times AS "SuspectTimes", m.started_at AS "StartTime", m.i_am_alive_at AS "IAmAliveTime",
            v.version AS "Version"
            """;
        const string ThisSilo = "cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation";
        return new()
        {
            // A true/false answer is a count: 1 when the row was created.
            ["InsertMembershipVersionKey"] = $"""
                WITH created AS (
                    INSERT INTO {s}.membership_version (cluster_id) VALUES (@DeploymentId)
                    ON CONFLICT (cluster_id) DO NOTHING
                    RETURNING 1)
                SELECT count(*)::integer FROM created;
                """,

            // The version row is updated first: it takes the row lock, so of two silos writing with the same
            // expected version the second finds the version moved on and changes nothing.
            ["InsertMembershipKey"] = $"""
                WITH bumped AS (
                    UPDATE {s}.membership_version SET version = version + 1, changed_at = now()
                    WHERE cluster_id = @DeploymentId AND version = @Version
                      AND NOT EXISTS (SELECT 1 FROM {s}.membership WHERE {ThisSilo})
                    RETURNING cluster_id),
                created AS (
                    INSERT INTO {s}.membership (cluster_id, address, port, generation, silo_name, host_name, status,
                                                proxy_port, started_at, i_am_alive_at)
                    SELECT cluster_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
                           @ProxyPort, @StartTime, @IAmAliveTime
                    FROM bumped
                    ON CONFLICT DO NOTHING
                    RETURNING 1)
                SELECT count(*)::integer FROM created;
                """,

            ["UpdateMembershipKey"] = $"""
                WITH bumped AS (
                    UPDATE {s}.membership_version SET version = version + 1, changed_at = now()
                    WHERE cluster_id = @DeploymentId AND version = @Version
                      AND EXISTS (SELECT 1 FROM {s}.membership WHERE {ThisSilo})
                    RETURNING cluster_id),
                changed AS (
                    UPDATE {s}.membership m
                    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_at = @IAmAliveTime
                    FROM bumped
                    WHERE m.cluster_id = bumped.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
                    RETURNING 1)
                SELECT count(*)::integer FROM changed;
                """,

            // Heartbeats do not move the table version: nobody needs to re-read the table for them.
            ["UpdateIAmAlivetimeKey"] = $"""
                UPDATE {s}.membership SET i_am_alive_at = @IAmAliveTime WHERE {ThisSilo};
                """,

            // The outer join returns the version row even when the silo has no row (yet).
            ["MembershipReadRowKey"] = $"""
                SELECT {MemberColumns}
                FROM {s}.membership_version v
                LEFT JOIN {s}.membership m
                  ON m.cluster_id = v.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
                WHERE v.cluster_id = @DeploymentId;
                """,

            ["MembershipReadAllKey"] = $"""
                SELECT {MemberColumns}
                FROM {s}.membership_version v
                LEFT JOIN {s}.membership m ON m.cluster_id = v.cluster_id
                WHERE v.cluster_id = @DeploymentId;
                """,

            ["DeleteMembershipTableEntriesKey"] = $"""
                DELETE FROM {s}.membership WHERE cluster_id = @DeploymentId;
                DELETE FROM {s}.membership_version WHERE cluster_id = @DeploymentId;
                """,

            ["GatewaysQueryKey"] = $"""
                SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
                FROM {s}.membership
                WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0;
                """,

            // Rows of silos that stopped heart-beating before @IAmAliveTime; never an Active (3) one.
            ["CleanupDefunctSiloEntriesKey"] = $"""
                DELETE FROM {s}.membership
                WHERE cluster_id = @DeploymentId AND i_am_alive_at < @IAmAliveTime AND status <> 3;
                """,
        };
    }

    // Grain state. state_name holds what Orleans passes as "grain type": the state name (Orleans issue #9737).
    // grain_id_n0/n1 carry a Guid or integer key, grain_key the string key or key extension ('' for none: Orleans
    // never makes an empty extension). version is the ETag; a clear keeps the row with payload NULL so that the
    // version keeps growing.
    private static string GrainState(string s) => $"""
        CREATE TABLE IF NOT EXISTS {s}.grain_state (
            service_id text NOT NULL,
            state_name text NOT NULL,
            grain_id_n0 bigint NOT NULL,
            grain_id_n1 bigint NOT NULL,
            grain_key text NOT NULL,
            payload bytea,
            version integer NOT NULL,
            modified_at timestamptz NOT NULL,
            PRIMARY KEY (service_id, state_name, grain_id_n0, grain_id_n1, grain_key)
        ) WITH (fillfactor = 80);
        """;

    private static Dictionary<string, string> GrainStateQueries(string s)
    {
        const string ThisGrain = """
            service_id = @ServiceId AND state_name = @GrainTypeString
            AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
            AND grain_key = COALESCE(@GrainIdExtensionString, '')
            """;
        return new()
        {
            ["ReadFromStorageKey"] = $"""
                SELECT payload AS "PayloadBinary", version AS "Version"
                FROM {s}.grain_state
                WHERE {ThisGrain};
                """,

            // No expected version: create the row, or nothing if one exists. An expected version: update only
            // that version. No row back means an ETag conflict.
            ["WriteToStorageKey"] = $"""
                WITH updated AS (
                    UPDATE {s}.grain_state
                    SET payload = @PayloadBinary, version = version + 1, modified_at = now()
                    WHERE {ThisGrain}
                      AND @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
                    RETURNING version),
                created AS (
                    INSERT INTO {s}.grain_state (service_id, state_name, grain_id_n0, grain_id_n1, grain_key, payload, version, modified_at)
                    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''), @PayloadBinary, 1, now()
                    WHERE @GrainStateVersion IS NULL
                    ON CONFLICT DO NOTHING
                    RETURNING version)
                SELECT version AS "NewGrainStateVersion" FROM updated
                UNION ALL
                SELECT version FROM created;
                """,

            ["ClearStorageKey"] = $"""
                UPDATE {s}.grain_state
                SET payload = NULL, version = version + 1, modified_at = now()
                WHERE {ThisGrain} AND version = @GrainStateVersion
                RETURNING version AS "NewGrainStateVersion";
                """,

            // Used when DeleteStateOnClear is set: the provider expects the deleted version + 1.
            ["DeleteStorageKey"] = $"""
                DELETE FROM {s}.grain_state
                WHERE {ThisGrain} AND version = @GrainStateVersion
                RETURNING version + 1 AS "NewGrainStateVersion";
                """,
        };
    }

    // Reminders. grain_hash is the grain's uniform hash as the provider sends it (a signed 32-bit cast), and its
    // range queries compare signed values too. period_ms in milliseconds, version is the ETag.
    private static string Reminders(string s) => $"""
        CREATE TABLE IF NOT EXISTS {s}.reminders (
            service_id text NOT NULL,
            grain_id text NOT NULL,
            reminder_name text NOT NULL,
            start_at timestamptz NOT NULL,
            period_ms bigint NOT NULL,
            grain_hash integer NOT NULL,
            version integer NOT NULL,
            PRIMARY KEY (service_id, grain_id, reminder_name)
        );
        CREATE INDEX IF NOT EXISTS reminders_by_hash ON {s}.reminders (service_id, grain_hash);
        """;

    private static Dictionary<string, string> ReminderQueries(string s)
    {
        var select = $"""
            SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_at AS "StartTime",
                   period_ms AS "Period", version AS "Version"
            FROM {s}.reminders
            """;
        return new()
        {
            ["ReadReminderRowsKey"] = $"""
                {select}
                WHERE service_id = @ServiceId AND grain_id = @GrainId;
                """,

            ["ReadReminderRowKey"] = $"""
                {select}
                WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
                """,

            // (begin, end] when begin < end ...
            ["ReadRangeRows1Key"] = $"""
                {select}
                WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
                """,

            // ... and the range that wraps around the ring otherwise.
            ["ReadRangeRows2Key"] = $"""
                {select}
                WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
                """,

            ["UpsertReminderRowKey"] = $"""
                INSERT INTO {s}.reminders AS r (service_id, grain_id, reminder_name, start_at, period_ms, grain_hash, version)
                VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
                ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
                SET start_at = excluded.start_at, period_ms = excluded.period_ms, grain_hash = excluded.grain_hash,
                    version = r.version + 1
                RETURNING r.version AS "Version";
                """,

            ["DeleteReminderRowKey"] = $"""
                WITH removed AS (
                    DELETE FROM {s}.reminders
                    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
                      AND version = @Version
                    RETURNING 1)
                SELECT count(*)::integer FROM removed;
                """,

            ["DeleteReminderRowsKey"] = $"""
                DELETE FROM {s}.reminders WHERE service_id = @ServiceId;
                """,
        };
    }
}
