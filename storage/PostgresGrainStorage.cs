using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Vehicles.Storage;

/// <summary>
/// <see cref="BatchedGrainStorage"/> on PostgreSQL, shared by every silo of a cluster. A batch of queued writes and
/// clears from many grains is one statement over <c>unnest()</c> arrays, which checks every row's ETag and returns
/// the rows that took effect. Up to <see cref="VehicleStorageOptions.MaxConcurrentBatches"/> batches are in flight at
/// once, each on its own pooled connection. All I/O is asynchronous (Npgsql), off the grains' turns.
/// </summary>
public sealed class PostgresGrainStorage : BatchedGrainStorage
{
    private const int MaxAttempts = 3;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _readSql;
    private readonly string _probeSql;
    private readonly string _batchSql;
    private readonly string _readVersionsSql;

    /// <summary>Creates the storage for the service <paramref name="serviceId"/> on the database and schema of <paramref name="options"/>.</summary>
    public PostgresGrainStorage(
        string name,
        VehicleStorageOptions options,
        string serviceId,
        IGrainStorageSerializer serializer,
        IActivatorProvider activators,
        ILogger<PostgresGrainStorage>? logger = null)
        : base(name, options, serviceId, serializer, activators, options?.MaxConcurrentBatches ?? 1, (ILogger?)logger ?? NullLogger.Instance)
    {
        if (options!.Provider != VehicleStorageProvider.PostgreSql)
        {
            throw new ArgumentException("Storage:Provider must be PostgreSql.", nameof(options));
        }

        _dataSource = NpgsqlDataSource.Create(StorageConnections.PostgresConnectionString(options));
        var table = $"\"{options.Schema}\".grain_state";
        _readSql = $"SELECT payload, version FROM {table} WHERE service_id = $1 AND grain_id = $2 AND state_name = $3";
        _probeSql = $"SELECT 1 FROM {table} LIMIT 1";

        // $3 payload NULL is a clear. With an expected version: update (or clear) only that version, a tombstone
        // included. Without: a write inserts and finds any row in the way; a clear succeeds, changing nothing, when
        // there is no row. Keys are unique within a batch (the batcher sees to it), so no row is touched twice.
        // Each returned row is the 1-based position (WITH ORDINALITY) of an operation that took effect, and its
        // new version (0: a clear of nothing).
        _batchSql = $"""
            WITH input AS (
                SELECT * FROM unnest($2::text[], $3::text[], $4::bytea[], $5::bigint[])
                    WITH ORDINALITY AS i (grain_id, state_name, payload, expected, ord)
            ),
            updated AS (
                UPDATE {table} AS g SET payload = i.payload, version = g.version + 1, modified_at = now()
                FROM input AS i
                WHERE i.expected IS NOT NULL AND g.service_id = $1 AND g.grain_id = i.grain_id
                    AND g.state_name = i.state_name AND g.version = i.expected
                RETURNING i.ord, g.version
            ),
            inserted AS (
                INSERT INTO {table} AS g (service_id, grain_id, state_name, payload, version, modified_at)
                SELECT $1, grain_id, state_name, payload, 1, now() FROM input
                WHERE expected IS NULL AND payload IS NOT NULL
                ON CONFLICT DO NOTHING
                RETURNING g.grain_id, g.state_name
            )
            SELECT ord, version FROM updated
            UNION ALL
            SELECT i.ord, 1 FROM inserted AS n
                JOIN input AS i ON i.grain_id = n.grain_id AND i.state_name = n.state_name AND i.expected IS NULL
            UNION ALL
            SELECT i.ord, 0 FROM input AS i
            WHERE i.expected IS NULL AND i.payload IS NULL AND NOT EXISTS (
                SELECT 1 FROM {table} AS g WHERE g.service_id = $1 AND g.grain_id = i.grain_id AND g.state_name = i.state_name)
            """;

        _readVersionsSql = $"""
            SELECT g.grain_id, g.state_name, g.version
            FROM {table} AS g JOIN unnest($2::text[], $3::text[]) AS i (grain_id, state_name)
                ON g.service_id = $1 AND g.grain_id = i.grain_id AND g.state_name = i.state_name
            """;
    }

    private protected override Task OpenAsync() => Task.CompletedTask;

    private protected override async ValueTask CloseAsync() => await _dataSource.DisposeAsync().ConfigureAwait(false);

    private protected override async Task ProbeCoreAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_probeSql, connection);
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private protected override async Task<(byte[]? Payload, long Version)?> ReadCoreAsync(string stateName, string grainId)
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_readSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ServiceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stateName });
        await command.PrepareAsync().ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return null;
        }

        var payload = await reader.IsDBNullAsync(0).ConfigureAwait(false) ? null : reader.GetFieldValue<byte[]>(0);
        return (payload, reader.GetInt64(1));
    }

    private protected override async Task ExecuteBatchAsync(IReadOnlyList<GrainWrite> batch, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteBatchOnceAsync(batch, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException exception) when (attempt < MaxAttempts
                && (exception.IsTransient || exception.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure))
            {
                // The statement is atomic, so nothing of the failed attempt remains. Deadlocks can only come from
                // another silo writing the same rows in a different order.
                Logger.LogWarning(exception, "Retrying a batch of {Count} grain state operations after {SqlState}", batch.Count, exception.SqlState);
            }
        }
    }

    private async Task ExecuteBatchOnceAsync(IReadOnlyList<GrainWrite> batch, CancellationToken cancellationToken)
    {
        var grainIds = new string[batch.Count];
        var stateNames = new string[batch.Count];
        var payloads = new byte[]?[batch.Count];
        var expected = new long?[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var operation = batch[i];
            operation.ResetOutcome();
            grainIds[i] = operation.GrainId;
            stateNames[i] = operation.StateName;
            payloads[i] = operation.Data;
            expected[i] = operation.ExpectedVersion;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_batchSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ServiceId });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = grainIds });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = stateNames });
        command.Parameters.Add(new NpgsqlParameter<byte[]?[]> { TypedValue = payloads });
        command.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = expected });

        // Prepared once per physical connection; later batches on that connection skip parsing and planning.
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        var succeeded = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch[(int)reader.GetInt64(0) - 1].Succeeded(reader.GetInt64(1));
                succeeded++;
            }
        }

        if (succeeded < batch.Count)
        {
            // After the commit: a failure from here on must not make the batch retry or fail.
            await RecordConflictsAsync(connection, batch, succeeded, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the stored version of each operation that did not take effect, for its exception. Rare (a stale
    /// activation), so it costs a second round trip only when it happens.
    /// </summary>
    private async Task RecordConflictsAsync(NpgsqlConnection connection, IReadOnlyList<GrainWrite> batch, int succeeded, CancellationToken cancellationToken)
    {
        var grainIds = new List<string>(batch.Count - succeeded);
        var stateNames = new List<string>(batch.Count - succeeded);
        var byKey = new Dictionary<(string, string), GrainWrite>();
        foreach (var operation in batch)
        {
            if (!operation.HasOutcome)
            {
                grainIds.Add(operation.GrainId);
                stateNames.Add(operation.StateName);
                byKey.Add((operation.GrainId, operation.StateName), operation);
                operation.Conflicted(storedVersion: null);
            }
        }

        try
        {
            await using var command = new NpgsqlCommand(_readVersionsSql, connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ServiceId });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. grainIds] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. stateNames] });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                byKey[(reader.GetString(0), reader.GetString(1))].Conflicted(reader.GetInt64(2));
            }
        }
        catch (NpgsqlException exception)
        {
            // The outcome is already known (a conflict); only the stored ETag for the message is missing.
            Logger.LogWarning(exception, "Could not read the stored ETags of {Count} conflicting grain state operations", grainIds.Count);
        }
    }
}
