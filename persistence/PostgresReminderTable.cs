using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Vehicles.Persistence;

/// <summary>Durable reminders in PostgreSQL, shared by every silo of a cluster.</summary>
public sealed class PostgresReminderTable : IReminderTable, IStorageInitializer
{
    private readonly PostgresDatabase _database;
    private readonly AsyncInitializer _initializer;
    private readonly string _upsertSql;
    private readonly string _removeSql;
    private readonly string _readSql;
    private readonly string _readAllSql;

    /// <summary>
    /// Creates the table over <paramref name="dataSource"/>, which the caller owns. The schema is created and
    /// migrated on first use or by <see cref="InitializeAsync"/>.
    /// </summary>
    public PostgresReminderTable(NpgsqlDataSource dataSource, GrainStorageOptions options, ILogger<PostgresReminderTable>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(requireConnectionString: false);
        _database = new PostgresDatabase(dataSource, options.Schema);
        var log = (ILogger?)logger ?? NullLogger.Instance;
        _initializer = new AsyncInitializer(token => _database.MigrateAsync(log, token));

        var table = _database.Schema + ".reminders";
        _upsertSql = $"""
            INSERT INTO {table} (grain_type, grain_key, name, start_at_utc_ticks, period_ticks) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (grain_type, grain_key, name) DO UPDATE
                SET start_at_utc_ticks = excluded.start_at_utc_ticks, period_ticks = excluded.period_ticks
            """;
        _removeSql = $"DELETE FROM {table} WHERE grain_type = $1 AND grain_key = $2 AND name = $3";
        _readSql = $"""
            SELECT grain_type, grain_key, name, start_at_utc_ticks, period_ticks FROM {table}
            WHERE grain_type = $1 AND grain_key = $2 ORDER BY name
            """;
        _readAllSql = $"SELECT grain_type, grain_key, name, start_at_utc_ticks, period_ticks FROM {table} ORDER BY grain_type, grain_key, name";
    }

    /// <summary>Creates the schema and brings it up to date. Idempotent; safe when silos start at once; also runs on first use.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _initializer.EnsureAsync(cancellationToken);

    /// <inheritdoc />
    public async Task UpsertAsync(ReminderEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var command = await CreateCommandAsync(_upsertSql, cancellationToken);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.GrainType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.GrainKey });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Name });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = entry.StartAt.UtcTicks });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = entry.Period.Ticks });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveAsync(string grainType, string grainKey, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainType);
        ArgumentNullException.ThrowIfNull(grainKey);
        ArgumentNullException.ThrowIfNull(name);
        await using var command = await CreateCommandAsync(_removeSql, cancellationToken);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainKey });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReminderEntry>> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainType);
        ArgumentNullException.ThrowIfNull(grainKey);
        await using var command = await CreateCommandAsync(_readSql, cancellationToken);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainKey });
        return await ReadEntriesAsync(command, filter: null, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReminderEntry>> ReadAllAsync(Func<string, string, bool>? grainKeyFilter = null, CancellationToken cancellationToken = default)
    {
        await using var command = await CreateCommandAsync(_readAllSql, cancellationToken);
        return await ReadEntriesAsync(command, grainKeyFilter, cancellationToken);
    }

    private static async Task<List<ReminderEntry>> ReadEntriesAsync(NpgsqlCommand command, Func<string, string, bool>? filter, CancellationToken cancellationToken)
    {
        var entries = new List<ReminderEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ReminderRows.AddIfAccepted(reader, filter, entries);
        }

        return entries;
    }

    private async Task<NpgsqlCommand> CreateCommandAsync(string sql, CancellationToken cancellationToken)
    {
        if (!_initializer.IsInitialized)
        {
            await _initializer.EnsureAsync(cancellationToken);
        }

        // A data-source command takes a pooled connection for its execution and returns it afterwards.
        return _database.DataSource.CreateCommand(sql);
    }
}
