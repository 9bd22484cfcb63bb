using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Vehicles.Storage;

/// <summary>
/// <see cref="BatchedGrainStorage"/> on the embedded SQLite file (WAL mode) of a single silo. One writer connection,
/// owned by a dedicated thread, commits each batch of queued writes and clears in one transaction; reads use pooled
/// read-only connections on the thread pool and never wait for the writer. Microsoft.Data.Sqlite does synchronous I/O,
/// so none of it runs on a grain's turn.
/// </summary>
public sealed class SqliteGrainStorage : BatchedGrainStorage
{
    private readonly string _writerConnectionString;
    private readonly string _readerConnectionString;
    private readonly string _pragmas;
    private readonly BlockingCollection<Action> _writerWork = new();
    private Thread? _writerThread;
    private SqliteConnection? _writer;
    private WriterCommands? _commands;

    /// <summary>Creates the storage for the service <paramref name="serviceId"/> on the file of <paramref name="options"/>.</summary>
    public SqliteGrainStorage(
        string name,
        VehicleStorageOptions options,
        string serviceId,
        IGrainStorageSerializer serializer,
        IActivatorProvider activators,
        ILogger<SqliteGrainStorage>? logger = null)
        : base(name, options, serviceId, serializer, activators, maxConcurrentBatches: 1, (ILogger?)logger ?? NullLogger.Instance)
    {
        if (options!.Provider != VehicleStorageProvider.Sqlite)
        {
            throw new ArgumentException("Storage:Provider must be Sqlite.", nameof(options));
        }

        var builder = new SqliteConnectionStringBuilder(StorageConnections.SqliteConnectionString(options));
        DatabasePath = builder.DataSource;

        // The writer's connection is its own for the life of the storage.
        builder.Pooling = false;
        _writerConnectionString = builder.ConnectionString;

        // Readers are pooled and read-only; in WAL mode they neither block the writer nor wait for it.
        builder.Mode = SqliteOpenMode.ReadOnly;
        builder.Pooling = true;
        _readerConnectionString = builder.ConnectionString;
        _pragmas = StorageConnections.SqliteConnectionPragmas(options);
    }

    /// <summary>The path of the database file.</summary>
    public string DatabasePath { get; }

    private protected override Task OpenAsync()
    {
        // Started once: a retried initialization reuses it, so there is never more than one writer.
        if (_writerThread is null)
        {
            _writerThread = new Thread(RunWriter) { IsBackground = true, Name = "Vehicles SQLite grain storage writer" };
            _writerThread.Start();
        }

        return OnWriterAsync(() =>
        {
            if (_writer is not null)
            {
                return;
            }

            var writer = new SqliteConnection(_writerConnectionString);
            try
            {
                writer.Open();
                using (var pragmas = writer.CreateCommand())
                {
                    pragmas.CommandText = _pragmas;
                    pragmas.ExecuteNonQuery();
                }

                _commands = new WriterCommands(writer, ServiceId);
                _writer = writer;
            }
            catch
            {
                writer.Dispose();
                throw;
            }
        });
    }

    private protected override Task ProbeCoreAsync(CancellationToken cancellationToken) => Task.Run(
        () =>
        {
            using var connection = new SqliteConnection(_readerConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1 FROM grain_state LIMIT 1;";
            command.ExecuteScalar();
        },
        cancellationToken);

    private protected override Task<(byte[]? Payload, long Version)?> ReadCoreAsync(string stateName, string grainId) => Task.Run(() =>
    {
        using var connection = new SqliteConnection(_readerConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload, version FROM grain_state WHERE service_id = $service AND grain_id = $grain AND state_name = $state;";
        command.Parameters.AddWithValue("$service", ServiceId);
        command.Parameters.AddWithValue("$grain", grainId);
        command.Parameters.AddWithValue("$state", stateName);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? ((byte[]?)(reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0)), reader.GetInt64(1))
            : ((byte[]?, long)?)null;
    });

    private protected override Task ExecuteBatchAsync(IReadOnlyList<GrainWrite> batch, CancellationToken cancellationToken) => OnWriterAsync(() =>
    {
        var commands = _commands!;
        foreach (var operation in batch)
        {
            operation.ResetOutcome();
        }

        // BEGIN IMMEDIATE: the write lock up front (waiting up to the busy timeout for another writer), so the batch
        // cannot fail half-way on a lock upgrade. Disposing without a commit rolls the whole batch back.
        using var transaction = _writer!.BeginTransaction(deferred: false);
        commands.Enlist(transaction, DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        foreach (var operation in batch)
        {
            commands.Apply(operation);
        }

        transaction.Commit();
    });

    private protected override async ValueTask CloseAsync()
    {
        if (_writerThread is not null)
        {
            try
            {
                await OnWriterAsync(() =>
                {
                    _commands?.Dispose();
                    _writer?.Dispose();
                }).ConfigureAwait(false);
            }
            finally
            {
                _writerWork.CompleteAdding();
                await Task.Run(() => _writerThread.Join()).ConfigureAwait(false);
            }
        }

        _writerWork.Dispose();
        using var reader = new SqliteConnection(_readerConnectionString);
        SqliteConnection.ClearPool(reader);
    }

    /// <summary>Runs <paramref name="work"/> on the writer thread; the task completes (on the thread pool) when it has run.</summary>
    private Task OnWriterAsync(Action work)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writerWork.Add(() =>
        {
            try
            {
                work();
                completion.SetResult();
            }
            catch (Exception exception)
            {
                completion.SetException(exception);
            }
        });
        return completion.Task;
    }

    private void RunWriter()
    {
        foreach (var work in _writerWork.GetConsumingEnumerable())
        {
            work();
        }
    }

    /// <summary>The writer's statements, prepared once and reused by every batch.</summary>
    private sealed class WriterCommands : IDisposable
    {
        private readonly Statement _insert;
        private readonly Statement _update;
        private readonly Statement _readVersion;

        public WriterCommands(SqliteConnection connection, string serviceId)
        {
            // No expected version: insert; any row in the way returns nothing.
            _insert = new Statement(connection, serviceId, """
                INSERT INTO grain_state (service_id, grain_id, state_name, payload, version, modified_at)
                VALUES ($service, $grain, $state, $payload, 1, $now)
                ON CONFLICT DO NOTHING
                RETURNING version;
                """, withPayload: true, withExpected: false, withNow: true);

            // An expected version: write or clear ($payload NULL) only that version, a tombstone included.
            _update = new Statement(connection, serviceId, """
                UPDATE grain_state SET payload = $payload, version = version + 1, modified_at = $now
                WHERE service_id = $service AND grain_id = $grain AND state_name = $state AND version = $expected
                RETURNING version;
                """, withPayload: true, withExpected: true, withNow: true);
            _readVersion = new Statement(connection, serviceId, """
                SELECT version FROM grain_state WHERE service_id = $service AND grain_id = $grain AND state_name = $state;
                """, withPayload: false, withExpected: false, withNow: false);
        }

        public void Enlist(SqliteTransaction transaction, string now)
        {
            _insert.Enlist(transaction, now);
            _update.Enlist(transaction, now);
            _readVersion.Enlist(transaction, now);
        }

        /// <summary>Applies one operation inside the batch's transaction and records its outcome.</summary>
        public void Apply(GrainWrite operation)
        {
            if (operation.IsClear && operation.ExpectedVersion is null)
            {
                // Clearing what the caller believes absent succeeds, changing nothing, only if there is no row.
                var stored = ReadVersion(operation);
                if (stored is null)
                {
                    operation.Succeeded(0);
                }
                else
                {
                    operation.Conflicted(stored);
                }

                return;
            }

            var statement = operation.ExpectedVersion is null ? _insert : _update;
            if (statement.Execute(operation) is long version)
            {
                operation.Succeeded(version);
            }
            else
            {
                operation.Conflicted(ReadVersion(operation));
            }
        }

        public void Dispose()
        {
            _insert.Dispose();
            _update.Dispose();
            _readVersion.Dispose();
        }

        private long? ReadVersion(GrainWrite operation) => _readVersion.Execute(operation) is long version ? version : null;

        private sealed class Statement : IDisposable
        {
            private readonly SqliteCommand _command;
            private readonly SqliteParameter _grain;
            private readonly SqliteParameter _state;
            private readonly SqliteParameter? _payload;
            private readonly SqliteParameter? _expected;
            private readonly SqliteParameter? _now;

            public Statement(SqliteConnection connection, string serviceId, string sql, bool withPayload, bool withExpected, bool withNow)
            {
                _command = connection.CreateCommand();
                _command.CommandText = sql;
                _command.Parameters.Add("$service", SqliteType.Text).Value = serviceId;
                _grain = _command.Parameters.Add("$grain", SqliteType.Text);
                _state = _command.Parameters.Add("$state", SqliteType.Text);
                _payload = withPayload ? _command.Parameters.Add("$payload", SqliteType.Blob) : null;
                _expected = withExpected ? _command.Parameters.Add("$expected", SqliteType.Integer) : null;
                _now = withNow ? _command.Parameters.Add("$now", SqliteType.Text) : null;
            }

            public void Enlist(SqliteTransaction transaction, string now)
            {
                _command.Transaction = transaction;
                _now?.Value = now;
            }

            public object? Execute(GrainWrite operation)
            {
                _grain.Value = operation.GrainId;
                _state.Value = operation.StateName;
                _payload?.Value = (object?)operation.Data ?? DBNull.Value;
                _expected?.Value = operation.ExpectedVersion;
                return _command.ExecuteScalar();
            }

            public void Dispose() => _command.Dispose();
        }
    }
}
