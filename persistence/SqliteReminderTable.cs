using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Vehicles.Persistence;

/// <summary>Durable reminders in the embedded SQLite file, next to the grain state.</summary>
public sealed class SqliteReminderTable : IReminderTable, IStorageInitializer, IAsyncDisposable, IDisposable
{
    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;
    private readonly AsyncInitializer _initializer;

    // Reminder changes are rare (a grain registers or removes one), so they share one writer connection
    // under a lock rather than going through the batching path.
    private readonly SemaphoreSlim _writerLock = new(1, 1);
    private SqliteConnection? _writer;
    private int _disposed;

    /// <summary>Creates the table; the file is created and migrated on first use or by <see cref="InitializeAsync"/>.</summary>
    public SqliteReminderTable(GrainStorageOptions options, ILogger<SqliteReminderTable>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(requireConnectionString: false);
        _database = new SqliteDatabase(options);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _initializer = new AsyncInitializer(_ => Task.Run(Open, CancellationToken.None));
    }

    /// <summary>Creates the database file and brings its schema up to date. Idempotent; also runs on first use.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _initializer.EnsureAsync(cancellationToken);

    /// <inheritdoc />
    public async Task UpsertAsync(ReminderEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await WithWriterAsync(writer =>
        {
            using var command = writer.CreateCommand();
            command.CommandText = """
                INSERT INTO reminders (grain_type, grain_key, name, start_at_utc_ticks, period_ticks)
                VALUES ($type, $key, $name, $startAt, $period)
                ON CONFLICT (grain_type, grain_key, name) DO UPDATE
                    SET start_at_utc_ticks = excluded.start_at_utc_ticks, period_ticks = excluded.period_ticks;
                """;
            command.Parameters.AddWithValue("$type", entry.GrainType);
            command.Parameters.AddWithValue("$key", entry.GrainKey);
            command.Parameters.AddWithValue("$name", entry.Name);
            command.Parameters.AddWithValue("$startAt", entry.StartAt.UtcTicks);
            command.Parameters.AddWithValue("$period", entry.Period.Ticks);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveAsync(string grainType, string grainKey, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainType);
        ArgumentNullException.ThrowIfNull(grainKey);
        ArgumentNullException.ThrowIfNull(name);
        var removed = await WithWriterAsync(writer =>
        {
            using var command = writer.CreateCommand();
            command.CommandText = "DELETE FROM reminders WHERE grain_type = $type AND grain_key = $key AND name = $name;";
            command.Parameters.AddWithValue("$type", grainType);
            command.Parameters.AddWithValue("$key", grainKey);
            command.Parameters.AddWithValue("$name", name);
            return command.ExecuteNonQuery();
        }, cancellationToken);
        return removed > 0;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReminderEntry>> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainType);
        ArgumentNullException.ThrowIfNull(grainKey);
        await EnsureOpenAsync(cancellationToken);
        using var connection = _database.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT grain_type, grain_key, name, start_at_utc_ticks, period_ticks FROM reminders
            WHERE grain_type = $type AND grain_key = $key ORDER BY name;
            """;
        command.Parameters.AddWithValue("$type", grainType);
        command.Parameters.AddWithValue("$key", grainKey);
        return ReadEntries(command, filter: null);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReminderEntry>> ReadAllAsync(Func<string, string, bool>? grainKeyFilter = null, CancellationToken cancellationToken = default)
    {
        await EnsureOpenAsync(cancellationToken);
        using var connection = _database.OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT grain_type, grain_key, name, start_at_utc_ticks, period_ticks FROM reminders
            ORDER BY grain_type, grain_key, name;
            """;
        return ReadEntries(command, grainKeyFilter);
    }

    /// <summary>
    /// Disposes synchronously, blocking until <see cref="DisposeAsync"/> finishes; for containers disposed
    /// with <c>Dispose</c>. Prefer <see cref="DisposeAsync"/>.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writerLock.WaitAsync();
        try
        {
            _writer?.Dispose();
            _writer = null;
        }
        finally
        {
            _writerLock.Release();
        }

        _database.ClearReaderPool();
    }

    private static List<ReminderEntry> ReadEntries(SqliteCommand command, Func<string, string, bool>? filter)
    {
        var entries = new List<ReminderEntry>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ReminderRows.AddIfAccepted(reader, filter, entries);
        }

        return entries;
    }

    private async Task EnsureOpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_initializer.IsInitialized)
        {
            await _initializer.EnsureAsync(cancellationToken);
        }
    }

    private async Task<int> WithWriterAsync(Func<SqliteConnection, int> action, CancellationToken cancellationToken)
    {
        await EnsureOpenAsync(cancellationToken);
        await _writerLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_writer is null, this);
            return action(_writer);
        }
        finally
        {
            _writerLock.Release();
        }
    }

    private void Open()
    {
        var writer = _database.OpenWriter();
        try
        {
            _database.Migrate(writer, _logger);
            _writer = writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }
}
