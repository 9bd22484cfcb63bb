using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Vehicles.Persistence;

/// <summary>
/// Grain storage in an embedded SQLite file (WAL mode): the default for a single silo. One writer connection
/// commits each batch of queued writes and clears in one transaction; reads use pooled read-only connections
/// and never wait for the writer.
/// </summary>
/// <remarks>
/// A write's task completes once its batch has committed. A cancellation token is honoured while the
/// operation waits in the queue; once its batch has been sent, the operation runs to its outcome.
/// Disposing completes every accepted operation first.
/// </remarks>
public sealed class SqliteGrainStorage : BatchedGrainStorage
{
    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;
    private SqliteConnection? _writer;
    private WriterCommands? _commands;

    /// <summary>Creates the storage; the file is created and migrated on first use or by <see cref="BatchedGrainStorage.InitializeAsync"/>.</summary>
    public SqliteGrainStorage(GrainStorageOptions options, ILogger<SqliteGrainStorage>? logger = null)
        : base(Validated(options), maxConcurrentBatches: 1, (ILogger?)logger ?? NullLogger.Instance)
    {
        _database = new SqliteDatabase(options);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => _database.DatabasePath;

    private static GrainStorageOptions Validated(GrainStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(requireConnectionString: false);
        return options;
    }

    private protected override Task InitializeCoreAsync(CancellationToken cancellationToken) => Task.Run(Open, CancellationToken.None);

    private protected override Task<StoredState?> ReadCoreAsync(string grainType, string grainKey, CancellationToken cancellationToken)
    {
        using var connection = _database.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT data, version FROM grain_state WHERE grain_type = $type AND grain_key = $key AND data IS NOT NULL;";
        command.Parameters.AddWithValue("$type", grainType);
        command.Parameters.AddWithValue("$key", grainKey);
        using var reader = command.ExecuteReader();
        // Reads on a read-only pooled connection are short and never wait for the writer (WAL).
        return Task.FromResult(reader.Read()
            ? new StoredState(reader.GetFieldValue<byte[]>(0), GrainWrite.FormatEtag(reader.GetInt64(1)))
            : null);
    }

    private protected override ValueTask CloseAsync()
    {
        _commands?.Dispose();
        _writer?.Dispose();
        _database.ClearReaderPool();
        return ValueTask.CompletedTask;
    }

    private void Open()
    {
        var writer = _database.OpenWriter();
        try
        {
            _database.Migrate(writer, _logger);
            _commands = new WriterCommands(writer);
            _writer = writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    private protected override Task ExecuteBatchAsync(IReadOnlyList<GrainWrite> batch, CancellationToken cancellationToken)
    {
        var commands = _commands!;
        using var transaction = _writer!.BeginTransaction(deferred: false);
        commands.Enlist(transaction);
        foreach (var operation in batch)
        {
            var outcome = commands.Apply(operation);
            if (outcome.Succeeded)
            {
                operation.Succeeded(outcome.Version);
            }
            else
            {
                operation.Conflicted(commands.ReadLiveVersion(operation));
            }
        }

        transaction.Commit();
        return Task.CompletedTask;
    }

    /// <summary>The writer's statements, prepared once and reused by every batch.</summary>
    private sealed class WriterCommands : IDisposable
    {
        private readonly Statement _insert;
        private readonly Statement _update;
        private readonly Statement _clear;
        private readonly Statement _readLive;

        public WriterCommands(SqliteConnection connection)
        {
            // expected ETag null: insert, or revive a cleared row; a live row fails the WHERE and returns nothing.
            _insert = new Statement(connection, """
                INSERT INTO grain_state (grain_type, grain_key, data, version) VALUES ($type, $key, $data, 1)
                ON CONFLICT (grain_type, grain_key) DO UPDATE SET data = excluded.data, version = version + 1 WHERE data IS NULL
                RETURNING version;
                """, withData: true, withExpected: false);
            _update = new Statement(connection, """
                UPDATE grain_state SET data = $data, version = version + 1
                WHERE grain_type = $type AND grain_key = $key AND data IS NOT NULL AND version = $expected
                RETURNING version;
                """, withData: true, withExpected: true);
            _clear = new Statement(connection, """
                UPDATE grain_state SET data = NULL, version = version + 1
                WHERE grain_type = $type AND grain_key = $key AND data IS NOT NULL AND version = $expected
                RETURNING version;
                """, withData: false, withExpected: true);
            _readLive = new Statement(connection, """
                SELECT version FROM grain_state WHERE grain_type = $type AND grain_key = $key AND data IS NOT NULL;
                """, withData: false, withExpected: false);
        }

        public void Enlist(SqliteTransaction transaction)
        {
            _insert.Command.Transaction = transaction;
            _update.Command.Transaction = transaction;
            _clear.Command.Transaction = transaction;
            _readLive.Command.Transaction = transaction;
        }

        public (bool Succeeded, long Version) Apply(GrainWrite operation)
        {
            if (operation.IsClear && operation.ExpectedVersion is null)
            {
                // Clearing what the caller believes absent succeeds only if it is absent; nothing to change.
                return (ReadLiveVersion(operation) is null, 0);
            }

            var statement = operation switch
            {
                { IsClear: true } => _clear,
                { ExpectedVersion: null } => _insert,
                _ => _update,
            };
            return statement.Execute(operation) is long newVersion ? (true, newVersion) : (false, 0);
        }

        public long? ReadLiveVersion(GrainWrite operation) => _readLive.Execute(operation) is long version ? version : null;

        public void Dispose()
        {
            _insert.Command.Dispose();
            _update.Command.Dispose();
            _clear.Command.Dispose();
            _readLive.Command.Dispose();
        }

        private sealed class Statement
        {
            private readonly SqliteParameter _type;
            private readonly SqliteParameter _key;
            private readonly SqliteParameter? _data;
            private readonly SqliteParameter? _expected;

            public Statement(SqliteConnection connection, string sql, bool withData, bool withExpected)
            {
                Command = connection.CreateCommand();
                Command.CommandText = sql;
                _type = Command.Parameters.Add("$type", SqliteType.Text);
                _key = Command.Parameters.Add("$key", SqliteType.Text);
                _data = withData ? Command.Parameters.Add("$data", SqliteType.Blob) : null;
                _expected = withExpected ? Command.Parameters.Add("$expected", SqliteType.Integer) : null;
            }

            public SqliteCommand Command { get; }

            public object? Execute(GrainWrite operation)
            {
                _type.Value = operation.GrainType;
                _key.Value = operation.GrainKey;
                _data?.Value = operation.Data;
                _expected?.Value = operation.ExpectedVersion;
                return Command.ExecuteScalar();
            }
        }
    }
}
