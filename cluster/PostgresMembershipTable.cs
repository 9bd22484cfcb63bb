using System.Text.RegularExpressions;
using Npgsql;

namespace Vehicles.Cluster;

/// <summary>
/// The membership table on PostgreSQL. Every status change also bumps the single row of <c>membership_version</c>
/// in the same statement, which both versions the table and serializes concurrent changes on that row's lock.
/// </summary>
internal sealed partial class PostgresMembershipTable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schemaName;
    private readonly string _silos;
    private readonly string _version;

    public PostgresMembershipTable(NpgsqlDataSource dataSource, string schema)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(schema);
        if (!ValidSchemaName().IsMatch(schema))
        {
            throw new ArgumentException($"'{schema}' is not a valid schema name: use letters, digits and underscores, not starting with a digit.", nameof(schema));
        }

        _dataSource = dataSource;
        _schemaName = schema;
        _silos = "\"" + schema + "\".silos";
        _version = "\"" + schema + "\".membership_version";
    }

    /// <summary>Creates the schema once per cluster; the advisory lock keeps silos starting together from racing.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", unchecked((long)StableHash.Mix(StableHash.Fnv1a64("vehicles.cluster/" + _schemaName))));
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        var sql = $$"""
            CREATE SCHEMA IF NOT EXISTS "{{_schemaName}}";
            CREATE TABLE IF NOT EXISTS {{_silos}} (
                endpoint text NOT NULL,
                generation bigint NOT NULL,
                status text NOT NULL CHECK (status IN ('joining', 'active', 'shutting_down', 'dead')),
                heartbeat_ticks bigint NOT NULL,
                votes text[] NOT NULL DEFAULT '{}',
                PRIMARY KEY (endpoint, generation)
            );
            CREATE TABLE IF NOT EXISTS {{_version}} (
                id integer PRIMARY KEY CHECK (id = 0),
                version bigint NOT NULL
            );
            INSERT INTO {{_version}} (id, version) VALUES (0, 0) ON CONFLICT (id) DO NOTHING;
            ALTER TABLE {{_silos}} ADD COLUMN IF NOT EXISTS activations bigint NOT NULL DEFAULT 0;
            """;
        await using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Registers a new generation at <paramref name="endpoint"/> as joining. Earlier generations there are declared dead
    /// (a process that restarted is no longer the old one), and old dead rows are removed.
    /// </summary>
    public async Task<long> RegisterAsync(string endpoint, long nowTicks, long deadBeforeTicks, CancellationToken cancellationToken)
    {
        var sql = $$"""
            WITH purged AS (
                DELETE FROM {{_silos}} WHERE status = 'dead' AND heartbeat_ticks < @dead_before
            ), previous AS (
                UPDATE {{_silos}} SET status = 'dead' WHERE endpoint = @endpoint AND status <> 'dead'
            ), bump AS (
                UPDATE {{_version}} SET version = version + 1 WHERE id = 0
            )
            INSERT INTO {{_silos}} (endpoint, generation, status, heartbeat_ticks)
            SELECT @endpoint, GREATEST(@now, COALESCE((SELECT max(generation) FROM {{_silos}} WHERE endpoint = @endpoint), 0) + 1), 'joining', @now
            RETURNING generation
            """;
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("endpoint", endpoint);
        command.Parameters.AddWithValue("now", nowTicks);
        command.Parameters.AddWithValue("dead_before", deadBeforeTicks);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Moves a live generation to <paramref name="to"/> if it is in one of <paramref name="from"/>; false when it is not (it is dead).</summary>
    public async Task<bool> TransitionAsync(SiloAddress silo, SiloStatus to, SiloStatus[] from, CancellationToken cancellationToken)
    {
        var sql = $$"""
            WITH changed AS (
                UPDATE {{_silos}} SET status = @to WHERE endpoint = @endpoint AND generation = @generation AND status = ANY(@from)
                RETURNING 1
            ), bump AS (
                UPDATE {{_version}} SET version = version + 1 WHERE id = 0 AND EXISTS (SELECT 1 FROM changed)
            )
            SELECT count(*) FROM changed
            """;
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("endpoint", silo.Endpoint);
        command.Parameters.AddWithValue("generation", silo.Generation);
        command.Parameters.AddWithValue("to", ToText(to));
        command.Parameters.AddWithValue("from", Array.ConvertAll(from, ToText));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    /// <summary>
    /// Writes the heartbeat (clearing votes: a silo that heartbeats is not suspect) and reads the table in one round trip.
    /// <see cref="TableRead.SelfAlive"/> is false when this generation is dead or gone.
    /// </summary>
    public async Task<TableRead> HeartbeatAndReadAsync(SiloAddress self, long nowTicks, long activations, CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        var heartbeat = new NpgsqlBatchCommand(
            $"UPDATE {_silos} SET heartbeat_ticks = @now, votes = '{{}}', activations = @activations WHERE endpoint = @endpoint AND generation = @generation AND status <> 'dead'");
        heartbeat.Parameters.AddWithValue("now", nowTicks);
        heartbeat.Parameters.AddWithValue("activations", activations);
        heartbeat.Parameters.AddWithValue("endpoint", self.Endpoint);
        heartbeat.Parameters.AddWithValue("generation", self.Generation);
        batch.BatchCommands.Add(heartbeat);
        AddRead(batch);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var read = await ReadAsync(reader, cancellationToken);
        return read with { SelfAlive = heartbeat.RecordsAffected == 1 };
    }

    /// <summary>Reads the table without writing.</summary>
    public async Task<TableRead> ReadAsync(CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        AddRead(batch);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await ReadAsync(reader, cancellationToken);
    }

    /// <summary>
    /// Votes against <paramref name="target"/> if its heartbeat is still the stale one the voter saw, declaring it dead
    /// when the votes reach <paramref name="votesNeeded"/>. Returns the target's status afterwards, or null when the vote
    /// did not apply (it heartbeated, is already dead, or this voter already voted).
    /// </summary>
    public async Task<SiloStatus?> VoteAsync(SiloAddress voter, SiloAddress target, long seenHeartbeatTicks, int votesNeeded, CancellationToken cancellationToken)
    {
        var sql = $$"""
            WITH target AS (
                UPDATE {{_silos}}
                SET votes = array_append(votes, @voter),
                    status = CASE WHEN cardinality(votes) + 1 >= @needed THEN 'dead' ELSE status END
                WHERE endpoint = @endpoint AND generation = @generation AND status <> 'dead'
                    AND heartbeat_ticks = @seen AND NOT (@voter = ANY(votes))
                RETURNING status
            ), bump AS (
                UPDATE {{_version}} SET version = version + 1 WHERE id = 0 AND EXISTS (SELECT 1 FROM target WHERE status = 'dead')
            )
            SELECT status FROM target
            """;
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("voter", voter.ToString());
        command.Parameters.AddWithValue("needed", votesNeeded);
        command.Parameters.AddWithValue("endpoint", target.Endpoint);
        command.Parameters.AddWithValue("generation", target.Generation);
        command.Parameters.AddWithValue("seen", seenHeartbeatTicks);
        var status = await command.ExecuteScalarAsync(cancellationToken);
        return status is string text ? FromText(text) : null;
    }

    private void AddRead(NpgsqlBatch batch)
    {
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT version FROM {_version} WHERE id = 0"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"SELECT endpoint, generation, status, heartbeat_ticks, cardinality(votes), activations FROM {_silos} ORDER BY endpoint, generation"));
    }

    private static async Task<TableRead> ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        // The heartbeat update, when present, returns no result set; the reader starts at the version query.
        await reader.ReadAsync(cancellationToken);
        var version = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);
        var rows = new List<TableRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new TableRow(
                new SiloAddress(reader.GetString(0), reader.GetInt64(1)),
                FromText(reader.GetString(2)),
                reader.GetInt64(3),
                reader.GetInt32(4),
                reader.GetInt64(5)));
        }

        return new TableRead(version, rows, SelfAlive: true);
    }

    private static string ToText(SiloStatus status) => status switch
    {
        SiloStatus.Joining => "joining",
        SiloStatus.Active => "active",
        SiloStatus.ShuttingDown => "shutting_down",
        SiloStatus.Dead => "dead",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static SiloStatus FromText(string status) => status switch
    {
        "joining" => SiloStatus.Joining,
        "active" => SiloStatus.Active,
        "shutting_down" => SiloStatus.ShuttingDown,
        "dead" => SiloStatus.Dead,
        _ => throw new InvalidDataException($"Unknown silo status '{status}' in the membership table."),
    };

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex ValidSchemaName();
}

internal sealed record TableRow(SiloAddress Address, SiloStatus Status, long HeartbeatTicks, int Votes, long Activations);

internal sealed record TableRead(long Version, IReadOnlyList<TableRow> Rows, bool SelfAlive);
