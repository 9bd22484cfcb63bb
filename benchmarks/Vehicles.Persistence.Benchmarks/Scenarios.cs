using Microsoft.Data.Sqlite;
using Npgsql;

namespace Vehicles.Persistence.Benchmarks;

/// <summary>A named benchmark scenario: a store to write to, set up fresh and torn down.</summary>
internal sealed record Scenario(string Name, Func<BenchmarkSettings, Task<BenchmarkResult>> RunAsync);

internal static class Scenarios
{
    private const string GrainType = "vehicle";

    public static IReadOnlyList<Scenario> All { get; } =
    [
        new("postgres-batched", PostgresBatchedAsync),
        new("postgres-naive", PostgresNaiveAsync),
        new("sqlite-batched", SqliteBatchedAsync),
        new("sqlite-naive", SqliteNaiveAsync),
    ];

    private static async Task<BenchmarkResult> PostgresBatchedAsync(BenchmarkSettings settings)
    {
        await using var database = await PostgresBench.CreateAsync(settings);
        await using var storage = new PostgresGrainStorage(database.DataSource, WithOptions(settings, o => o.Schema = database.Schema));
        await storage.InitializeAsync();
        return await LoadDriver.RunAsync(
            settings,
            (key, state, etag) => storage.WriteAsync(GrainType, key, state, etag),
            storage.WriteStatistics,
            database.ServerCpuAsync);
    }

    private static async Task<BenchmarkResult> PostgresNaiveAsync(BenchmarkSettings settings)
    {
        await using var database = await PostgresBench.CreateAsync(settings);
        var table = $"\"{database.Schema}\".grain_state";
        var insertSql = $"""
            INSERT INTO {table} AS g (grain_type, grain_key, data, version) VALUES ($1, $2, $3, 1)
            ON CONFLICT (grain_type, grain_key) DO UPDATE SET data = excluded.data, version = g.version + 1 WHERE g.data IS NULL
            RETURNING version
            """;
        var updateSql = $"""
            UPDATE {table} SET data = $3, version = version + 1
            WHERE grain_type = $1 AND grain_key = $2 AND data IS NOT NULL AND version = $4
            RETURNING version
            """;

        // The textbook provider: every write takes a pooled connection and runs its own prepared statement.
        async Task<string> WriteAsync(string key, ReadOnlyMemory<byte> state, string? etag)
        {
            await using var connection = await database.DataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand(etag is null ? insertSql : updateSql, connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = GrainType });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = state });
            if (etag is not null)
            {
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture) });
            }

            await command.PrepareAsync();
            return await command.ExecuteScalarAsync() is long version
                ? version.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : throw new InconsistentStateException("ETag mismatch", null, etag);
        }

        return await LoadDriver.RunAsync(settings, WriteAsync, statistics: null, database.ServerCpuAsync);
    }

    private static async Task<BenchmarkResult> SqliteBatchedAsync(BenchmarkSettings settings)
    {
        var directory = SqliteBench.CreateDirectory();
        try
        {
            await using var storage = new SqliteGrainStorage(WithOptions(settings, o => o.DataDirectory = directory));
            await storage.InitializeAsync();
            return await LoadDriver.RunAsync(
                settings,
                (key, state, etag) => storage.WriteAsync(GrainType, key, state, etag),
                storage.WriteStatistics);
        }
        finally
        {
            SqliteBench.DeleteDirectory(directory);
        }
    }

    private static async Task<BenchmarkResult> SqliteNaiveAsync(BenchmarkSettings settings)
    {
        var directory = SqliteBench.CreateDirectory();
        try
        {
            // Same file settings as the provider (WAL, synchronous=FULL), but one transaction per write.
            var options = new GrainStorageOptions { DataDirectory = directory };
            await using (var storage = new SqliteGrainStorage(options))
            {
                await storage.InitializeAsync();
            }

            using var connection = new SqliteConnection($"Data Source={Path.Combine(directory, options.DatabaseFileName)};Pooling=False");
            connection.Open();
            using (var pragmas = connection.CreateCommand())
            {
                pragmas.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
                pragmas.ExecuteNonQuery();
            }

            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO grain_state (grain_type, grain_key, data, version) VALUES ($type, $key, $data, 1)
                ON CONFLICT (grain_type, grain_key) DO UPDATE SET data = excluded.data, version = version + 1 WHERE data IS NULL
                RETURNING version;
                """;
            using var update = connection.CreateCommand();
            update.CommandText = """
                UPDATE grain_state SET data = $data, version = version + 1
                WHERE grain_type = $type AND grain_key = $key AND data IS NOT NULL AND version = $expected
                RETURNING version;
                """;
            using var gate = new SemaphoreSlim(1, 1);

            async Task<string> WriteAsync(string key, ReadOnlyMemory<byte> state, string? etag)
            {
                await gate.WaitAsync();
                try
                {
                    var command = etag is null ? insert : update;
                    command.Parameters.Clear();
                    command.Parameters.AddWithValue("$type", GrainType);
                    command.Parameters.AddWithValue("$key", key);
                    command.Parameters.AddWithValue("$data", state.ToArray());
                    if (etag is not null)
                    {
                        command.Parameters.AddWithValue("$expected", long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture));
                    }

                    return command.ExecuteScalar() is long version
                        ? version.ToString(System.Globalization.CultureInfo.InvariantCulture)
                        : throw new InconsistentStateException("ETag mismatch", null, etag);
                }
                finally
                {
                    gate.Release();
                }
            }

            return await LoadDriver.RunAsync(settings, WriteAsync, statistics: null);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            SqliteBench.DeleteDirectory(directory);
        }
    }

    private static GrainStorageOptions WithOptions(BenchmarkSettings settings, Action<GrainStorageOptions> configure)
    {
        var options = new GrainStorageOptions
        {
            MaxBatchSize = settings.Options.MaxBatchSize,
            MaxConcurrentBatches = settings.Options.MaxConcurrentBatches,
        };
        configure(options);
        return options;
    }

    private sealed class PostgresBench : IAsyncDisposable
    {
        private PostgresBench(NpgsqlDataSource dataSource, string schema)
        {
            DataSource = dataSource;
            Schema = schema;
        }

        private readonly HashSet<int> _serverPids = [];
        private readonly Dictionary<int, long> _lastCpuTicks = [];

        public NpgsqlDataSource DataSource { get; }

        public string Schema { get; }

        public static async Task<PostgresBench> CreateAsync(BenchmarkSettings settings)
        {
            var connectionString = settings.PostgresConnectionString
                ?? throw new InvalidOperationException("Give --postgres or set VEHICLES_TEST_POSTGRES.");
            // The application name lets the run find its own server processes among other clients'.
            var schema = "persistence_bench_" + Guid.NewGuid().ToString("N");
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            builder.ConnectionStringBuilder.ApplicationName = schema;
            var bench = new PostgresBench(builder.Build(), schema);

            // The naive scenario writes straight into the provider's table: let the provider create it.
            await using var storage = new PostgresGrainStorage(bench.DataSource, new GrainStorageOptions { Schema = bench.Schema });
            await storage.InitializeAsync();
            return bench;
        }

        /// <summary>
        /// CPU time of the server processes serving this run's connections (Linux /proc; the server must be on
        /// this machine). Processes seen once are remembered, so a connection closed meanwhile still counts.
        /// </summary>
        public async Task<TimeSpan> ServerCpuAsync()
        {
            // Known processes are read first, before the query that finds new ones costs the server time.
            long ticks = 0;
            foreach (var pid in _serverPids)
            {
                ticks += ReadCpuTicks(pid);
            }

            await using var command = DataSource.CreateCommand("SELECT pid FROM pg_stat_activity WHERE application_name = $1");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Schema });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var pid = reader.GetInt32(0);
                if (_serverPids.Add(pid))
                {
                    ticks += ReadCpuTicks(pid);
                }
            }

            // /proc counts in USER_HZ, 100 per second on Linux.
            return TimeSpan.FromMilliseconds(ticks * 10.0);
        }

        /// <summary>A process's CPU ticks, or the last seen value once it has exited.</summary>
        private long ReadCpuTicks(int pid)
        {
            if (ProcessCpuTicks(pid) is { } value)
            {
                _lastCpuTicks[pid] = value;
            }

            return _lastCpuTicks.GetValueOrDefault(pid);
        }

        private static long? ProcessCpuTicks(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await using (var command = DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{Schema}\" CASCADE"))
            {
                await command.ExecuteNonQueryAsync();
            }

            await DataSource.DisposeAsync();
        }
    }

    private static class SqliteBench
    {
        public static string CreateDirectory()
        {
            var path = Path.Combine(Path.GetTempPath(), "vehicles-persistence-bench", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            return path;
        }

        public static void DeleteDirectory(string path)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
