using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Vehicles.Persistence;

/// <summary>
/// Grain storage in PostgreSQL, shared by every silo of a cluster. Queued writes and clears from many grains
/// go to the server as one batch per round trip: one statement over <c>unnest()</c> arrays that checks every
/// row's ETag and returns the rows that took effect. Several batches may be in flight at once
/// (<see cref="GrainStorageOptions.MaxConcurrentBatches"/>), each on its own pooled connection.
/// </summary>
/// <remarks>
/// A write's task completes once its batch has committed. A cancellation token is honoured while the
/// operation waits in the queue; once its batch has been sent, the operation runs to its outcome.
/// Disposing completes every accepted operation first.
/// </remarks>
public sealed class PostgresGrainStorage : BatchedGrainStorage
{
    private const int MaxAttempts = 3;

    private readonly PostgresDatabase _database;
    private readonly ILogger _logger;
    private readonly string _readSql;
    private readonly string _writeSql;
    private readonly string _clearSql;
    private readonly string _readLiveVersionsSql;

    /// <summary>
    /// Creates the storage over <paramref name="dataSource"/>, which the caller owns and disposes after this.
    /// The schema is created and migrated on first use or by <see cref="BatchedGrainStorage.InitializeAsync"/>.
    /// </summary>
    public PostgresGrainStorage(NpgsqlDataSource dataSource, GrainStorageOptions options, ILogger<PostgresGrainStorage>? logger = null)
        : base(Validated(options), options.MaxConcurrentBatches, (ILogger?)logger ?? NullLogger.Instance)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _database = new PostgresDatabase(dataSource, options.Schema);
        _logger = (ILogger?)logger ?? NullLogger.Instance;

        var table = _database.Schema + ".grain_state";
        _readSql = $"SELECT data, version FROM {table} WHERE grain_type = $1 AND grain_key = $2 AND data IS NOT NULL";

        // Writes that expect a record update it only if it is live and at the expected version; writes that
        // expect none insert it, or revive a cleared row, and find a live row in the way. Keys are unique
        // within a batch (the batcher sees to it), so no row is touched twice by one statement.
        _writeSql = $"""
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[])
                    WITH ORDINALITY AS i (grain_type, grain_key, data, expected, ord)
            ),
            updated AS (
                UPDATE {table} AS g SET data = i.data, version = g.version + 1
                FROM input AS i
                WHERE i.expected IS NOT NULL AND g.grain_type = i.grain_type AND g.grain_key = i.grain_key
                    AND g.data IS NOT NULL AND g.version = i.expected
                RETURNING i.ord, g.version
            ),
            inserted AS (
                INSERT INTO {table} AS g (grain_type, grain_key, data, version)
                SELECT grain_type, grain_key, data, 1 FROM input WHERE expected IS NULL
                ON CONFLICT (grain_type, grain_key) DO UPDATE SET data = excluded.data, version = g.version + 1
                    WHERE g.data IS NULL
                RETURNING g.grain_type, g.grain_key, g.version
            )
            SELECT ord, version FROM updated
            UNION ALL
            SELECT i.ord, n.version FROM inserted AS n
                JOIN input AS i ON i.grain_type = n.grain_type AND i.grain_key = n.grain_key AND i.expected IS NULL
            """;

        // A clear that expects no record changes nothing and succeeds when there is no live row.
        _clearSql = $"""
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS i (grain_type, grain_key, expected, ord)
            ),
            cleared AS (
                UPDATE {table} AS g SET data = NULL, version = g.version + 1
                FROM input AS i
                WHERE i.expected IS NOT NULL AND g.grain_type = i.grain_type AND g.grain_key = i.grain_key
                    AND g.data IS NOT NULL AND g.version = i.expected
                RETURNING i.ord, g.version
            )
            SELECT ord, version FROM cleared
            UNION ALL
            SELECT i.ord, 0 FROM input AS i
            WHERE i.expected IS NULL AND NOT EXISTS (
                SELECT 1 FROM {table} AS g WHERE g.grain_type = i.grain_type AND g.grain_key = i.grain_key AND g.data IS NOT NULL)
            """;

        _readLiveVersionsSql = $"""
            SELECT g.grain_type, g.grain_key, g.version
            FROM {table} AS g JOIN unnest($1::text[], $2::text[]) AS i (grain_type, grain_key)
                ON g.grain_type = i.grain_type AND g.grain_key = i.grain_key
            WHERE g.data IS NOT NULL
            """;
    }

    private static GrainStorageOptions Validated(GrainStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(requireConnectionString: false);
        return options;
    }

    private protected override Task InitializeCoreAsync(CancellationToken cancellationToken) => _database.MigrateAsync(_logger, cancellationToken);

    // The data source stays open: its owner disposes it.
    private protected override ValueTask CloseAsync() => ValueTask.CompletedTask;

    private protected override async Task<StoredState?> ReadCoreAsync(string grainType, string grainKey, CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(_readSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainKey });
        await command.PrepareAsync(cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredState(reader.GetFieldValue<byte[]>(0), GrainWrite.FormatEtag(reader.GetInt64(1)));
    }

    private protected override async Task ExecuteBatchAsync(IReadOnlyList<GrainWrite> operations, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteBatchOnceAsync(operations, cancellationToken);
                return;
            }
            catch (PostgresException exception) when (exception.IsTransient || exception.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                // The statement is atomic, so nothing of the failed attempt remains. Deadlocks can only come from
                // another silo writing the same keys in a different order.
                if (attempt == MaxAttempts)
                {
                    throw;
                }

                _logger.LogWarning(exception, "Retrying a batch of {Count} grain state operations after {SqlState}", operations.Count, exception.SqlState);
            }
        }
    }

    private async Task ExecuteBatchOnceAsync(IReadOnlyList<GrainWrite> operations, CancellationToken cancellationToken)
    {
        var writeCount = 0;
        foreach (var operation in operations)
        {
            operation.ResetOutcome();
            if (!operation.IsClear)
            {
                writeCount++;
            }
        }

        // Each statement returns the 1-based position (WITH ORDINALITY) of every row that took effect.
        var writes = new GrainWrite[writeCount];
        var clears = new GrainWrite[operations.Count - writeCount];
        var writeTypes = new string[writes.Length];
        var writeKeys = new string[writes.Length];
        var writeData = new byte[writes.Length][];
        var writeExpected = new long?[writes.Length];
        var clearTypes = new string[clears.Length];
        var clearKeys = new string[clears.Length];
        var clearExpected = new long?[clears.Length];
        int w = 0, c = 0;
        foreach (var operation in operations)
        {
            if (operation.IsClear)
            {
                clears[c] = operation;
                clearTypes[c] = operation.GrainType;
                clearKeys[c] = operation.GrainKey;
                clearExpected[c++] = operation.ExpectedVersion;
            }
            else
            {
                writes[w] = operation;
                writeTypes[w] = operation.GrainType;
                writeKeys[w] = operation.GrainKey;
                writeData[w] = operation.Data!;
                writeExpected[w++] = operation.ExpectedVersion;
            }
        }

        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        if (writes.Length > 0)
        {
            var command = new NpgsqlBatchCommand(_writeSql);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = writeTypes });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = writeKeys });
            command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = writeData });
            command.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = writeExpected });
            batch.BatchCommands.Add(command);
        }

        if (clears.Length > 0)
        {
            var command = new NpgsqlBatchCommand(_clearSql);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = clearTypes });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = clearKeys });
            command.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = clearExpected });
            batch.BatchCommands.Add(command);
        }

        // Prepared once per physical connection; later batches on that connection skip parsing and planning.
        await batch.PrepareAsync(cancellationToken);

        var succeeded = 0;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            foreach (var targets in new[] { writes, clears })
            {
                if (targets.Length == 0)
                {
                    continue;
                }

                while (await reader.ReadAsync(cancellationToken))
                {
                    targets[reader.GetInt64(0) - 1].Succeeded(reader.GetInt64(1));
                    succeeded++;
                }

                await reader.NextResultAsync(cancellationToken);
            }
        }

        if (succeeded < operations.Count)
        {
            // After the commit: a failure from here on must not make the batch retry or fail.
            await RecordConflictsAsync(connection, operations, succeeded, cancellationToken);
        }
    }

    /// <summary>
    /// Reads the live version of each operation that did not take effect, for its exception. Rare (a fenced
    /// zombie activation), so it costs a second round trip only when it happens.
    /// </summary>
    private async Task RecordConflictsAsync(NpgsqlConnection connection, IReadOnlyList<GrainWrite> operations, int succeeded, CancellationToken cancellationToken)
    {
        var types = new List<string>(operations.Count - succeeded);
        var keys = new List<string>(operations.Count - succeeded);
        var byKey = new Dictionary<(string, string), GrainWrite>();
        foreach (var operation in operations)
        {
            if (!operation.HasOutcome)
            {
                types.Add(operation.GrainType);
                keys.Add(operation.GrainKey);
                byKey.Add(operation.Key, operation);
                operation.Conflicted(storedVersion: null);
            }
        }

        try
        {
            await using var command = new NpgsqlCommand(_readLiveVersionsSql, connection);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. types] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. keys] });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                byKey[(reader.GetString(0), reader.GetString(1))].Conflicted(reader.GetInt64(2));
            }
        }
        catch (NpgsqlException exception)
        {
            // The outcome is already known (a conflict); only the stored ETag for the message is missing.
            _logger.LogWarning(exception, "Could not read the stored ETags of {Count} conflicting grain state operations", types.Count);
        }
    }
}
