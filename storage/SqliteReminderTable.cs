using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Vehicles.Storage;

/// <summary>
/// Orleans' reminder table on the SQLite file of <see cref="VehicleStorageOptions"/> (Orleans has no SQLite reminders):
/// one row per reminder, keyed by service id, grain id and name, with the grain's uniform hash for the range reads
/// of the hash ring and a version as ETag. The file is in WAL mode; every connection waits up to
/// <see cref="VehicleStorageOptions.BusyTimeout"/> for a lock. The table itself is created by <see cref="VehicleSchema"/>.
/// </summary>
public sealed class SqliteReminderTable : IReminderTable
{
    private const string Columns = "grain_id, reminder_name, start_at_ticks, period_ticks, version";

    private readonly string _connectionString;
    private readonly string _pragmas;
    private readonly string _serviceId;
    private readonly VehicleStorageOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the table over the file named by <paramref name="options"/>, for the service of <paramref name="clusterOptions"/>.</summary>
    public SqliteReminderTable(IOptions<VehicleStorageOptions> options, IOptions<ClusterOptions> clusterOptions, ILogger<SqliteReminderTable>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        _options = options.Value;
        _connectionString = StorageConnections.SqliteConnectionString(_options);
        _pragmas = StorageConnections.SqliteConnectionPragmas(_options);
        _serviceId = clusterOptions.Value.ServiceId;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Makes sure the schema exists (the silo normally migrated it already, before the reminder service starts).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await VehicleSchema.EnsureAsync(_options, _logger, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, $"SELECT {Columns} FROM reminders WHERE service_id = $service AND grain_id = $grain;");
        command.Parameters.AddWithValue("$grain", grainId.ToString());
        return new ReminderTableData(await ReadEntriesAsync(command));
    }

    /// <inheritdoc />
    /// <remarks>The range (<paramref name="begin"/>, <paramref name="end"/>] of the ring; it wraps past zero when begin &gt;= end.</remarks>
    public async Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        var condition = begin < end
            ? "grain_hash > $begin AND grain_hash <= $end"
            : "(grain_hash > $begin OR grain_hash <= $end)";
        await using var connection = await OpenAsync();
        await using var command = Command(connection, $"SELECT {Columns} FROM reminders WHERE service_id = $service AND {condition};");
        command.Parameters.AddWithValue("$begin", (long)begin);
        command.Parameters.AddWithValue("$end", (long)end);
        return new ReminderTableData(await ReadEntriesAsync(command));
    }

    /// <inheritdoc />
    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, $"SELECT {Columns} FROM reminders WHERE service_id = $service AND grain_id = $grain AND reminder_name = $name;");
        command.Parameters.AddWithValue("$grain", grainId.ToString());
        command.Parameters.AddWithValue("$name", reminderName);
        var entries = await ReadEntriesAsync(command);
        return entries.Count == 0 ? null : entries[0];
    }

    /// <inheritdoc />
    /// <returns>The new ETag: a version that grows with every upsert of the reminder.</returns>
    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await OpenAsync();
        await using var command = Command(connection, """
            INSERT INTO reminders AS r (service_id, grain_id, reminder_name, start_at_ticks, period_ticks, grain_hash, version)
            VALUES ($service, $grain, $name, $start, $period, $hash, 1)
            ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
            SET start_at_ticks = excluded.start_at_ticks, period_ticks = excluded.period_ticks,
                grain_hash = excluded.grain_hash, version = r.version + 1
            RETURNING version;
            """);
        command.Parameters.AddWithValue("$grain", entry.GrainId.ToString());
        command.Parameters.AddWithValue("$name", entry.ReminderName);
        command.Parameters.AddWithValue("$start", entry.StartAt.ToUniversalTime().Ticks);
        command.Parameters.AddWithValue("$period", entry.Period.Ticks);
        command.Parameters.AddWithValue("$hash", (long)entry.GrainId.GetUniformHashCode());
        var version = Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        return version.ToString(CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    /// <returns><see langword="true"/> when the row existed with <paramref name="eTag"/> and is gone.</returns>
    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        if (!long.TryParse(eTag, NumberStyles.Integer, CultureInfo.InvariantCulture, out var version))
        {
            return false;
        }

        await using var connection = await OpenAsync();
        await using var command = Command(connection, "DELETE FROM reminders WHERE service_id = $service AND grain_id = $grain AND reminder_name = $name AND version = $version;");
        command.Parameters.AddWithValue("$grain", grainId.ToString());
        command.Parameters.AddWithValue("$name", reminderName);
        command.Parameters.AddWithValue("$version", version);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    /// <inheritdoc />
    /// <remarks>Removes this service's reminders only.</remarks>
    public async Task TestOnlyClearTable()
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, "DELETE FROM reminders WHERE service_id = $service;");
        await command.ExecuteNonQueryAsync();
    }

    private Task<SqliteConnection> OpenAsync() => StorageConnections.OpenSqliteAsync(_connectionString, _pragmas, CancellationToken.None);

    private SqliteCommand Command(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$service", _serviceId);
        return command;
    }

    private static async Task<List<ReminderEntry>> ReadEntriesAsync(SqliteCommand command)
    {
        var entries = new List<ReminderEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = new DateTime(reader.GetInt64(2), DateTimeKind.Utc),
                Period = TimeSpan.FromTicks(reader.GetInt64(3)),
                ETag = reader.GetInt64(4).ToString(CultureInfo.InvariantCulture),
            });
        }

        return entries;
    }
}
