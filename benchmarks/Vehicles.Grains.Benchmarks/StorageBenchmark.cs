using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Vehicles.Grains.Benchmarks;

/// <summary>Settings of the storage run.</summary>
internal sealed class StorageSettings
{
    public int Grains { get; private set; } = 10_000;

    public int StateBytes { get; private set; } = 200;

    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(3);

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(10);

    /// <summary>When set, each grain writes once per interval (open model, like a checkpoint timer) instead of back to back.</summary>
    public TimeSpan? Interval { get; private set; }

    public string? PostgresConnectionString { get; private set; } = Environment.GetEnvironmentVariable("VEHICLES_TEST_POSTGRES");

    public HashSet<string> Only { get; private set; } = ["postgres", "sqlite"];

    public static StorageSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new StorageSettings();
        for (var i = 0; i < args.Count; i += 2)
        {
            var value = i + 1 < args.Count ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--grains":
                    settings.Grains = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--state-bytes":
                    settings.StateBytes = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--warmup":
                    settings.Warmup = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));
                    break;
                case "--seconds":
                    settings.Duration = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));
                    break;
                case "--interval":
                    settings.Interval = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));
                    break;
                case "--postgres":
                    settings.PostgresConnectionString = value;
                    break;
                case "--only":
                    settings.Only = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                    break;
                default:
                    throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }

        return settings;
    }
}

/// <summary>
/// Grain state writes through the grain storage <c>AddVehicleStorage</c> registers (our batched storage on our schema,
/// <c>ProtobufGrainStorageSerializer</c>): every grain rewrites its protobuf state with <c>WriteStateAsync</c> in a
/// loop, one write at a time per grain, all grains at once, as a silo of that many vehicles checkpointing would.
/// </summary>
internal static class StorageBenchmark
{
    private const long MaxLatencyMicroseconds = 3_600_000_000L;

    public static async Task RunAsync(StorageSettings settings)
    {
        var mode = settings.Interval is { } interval
            ? string.Create(CultureInfo.InvariantCulture, $"each grain writes once per {interval.TotalSeconds:0.###} s (offered {settings.Grains / interval.TotalSeconds:0} states/s; latency from the intended time)")
            : "each grain writes again as soon as its last write completed (closed loop)";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Grains} grains, {settings.StateBytes}-byte protobuf states, {settings.Warmup.TotalSeconds:0} s warm-up, {settings.Duration.TotalSeconds:0} s measured; {mode}"));
        Console.WriteLine("Orleans 10.4.2, the grain storage AddVehicleStorage registers (Vehicles.Storage batched storage); client CPU / server CPU: CPU time per state written, in microseconds, of this process (silo) and of this run's PostgreSQL backends.");
        Console.WriteLine();
        Console.WriteLine($"{"scenario",-18} {"states/s",10} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"client CPU",10} {"server CPU",10} {"errors",8} {"late",8}");
        if (settings.Only.Contains("postgres"))
        {
            Console.WriteLine((await PostgresAsync(settings)).Format("batched-postgres"));
        }

        if (settings.Only.Contains("sqlite"))
        {
            Console.WriteLine((await SqliteAsync(settings)).Format("batched-sqlite"));
        }
    }

    private static async Task<StorageResult> PostgresAsync(StorageSettings settings)
    {
        var schema = "grains_bench_" + Guid.NewGuid().ToString("N");
        // The application name lets the run find its own server processes among other clients'.
        var connection = new NpgsqlConnectionStringBuilder(settings.PostgresConnectionString
            ?? throw new InvalidOperationException("Give --postgres or set VEHICLES_TEST_POSTGRES."))
        {
            ApplicationName = schema,
        };
        var monitorConnection = new NpgsqlConnectionStringBuilder(connection.ConnectionString) { ApplicationName = "grains_bench_monitor" };
        await using var monitor = NpgsqlDataSource.Create(monitorConnection.ConnectionString);
        var serverCpu = new PostgresServerCpu(monitor, schema);
        try
        {
            using var host = await BenchSilo.StartAsync(
                new()
                {
                    ["Storage:Provider"] = "PostgreSql",
                    ["Storage:ConnectionString"] = connection.ConnectionString,
                    ["Storage:Schema"] = schema,
                },
                withStorage: true);
            var result = await DriveAsync(settings, host, serverCpu.ReadAsync);
            await host.StopAsync();
            return result;
        }
        finally
        {
            await using var drop = monitor.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static async Task<StorageResult> SqliteAsync(StorageSettings settings)
    {
        var directory = Path.Combine(Path.GetTempPath(), "vehicles-grains-bench", Guid.NewGuid().ToString("N"));
        try
        {
            using var host = await BenchSilo.StartAsync(
                new()
                {
                    ["Storage:Provider"] = "Sqlite",
                    ["Storage:DataDirectory"] = directory,
                },
                withStorage: true);
            var result = await DriveAsync(settings, host, serverCpu: null);
            await host.StopAsync();
            return result;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<StorageResult> DriveAsync(StorageSettings settings, IHost host, Func<Task<TimeSpan>>? serverCpu)
    {
        var factory = host.Services.GetRequiredService<IGrainFactory>();
        // The payload is wrapped as field 1 of BytesValue: one tag byte and a length varint (2 bytes from 128 on).
        var payloadBytes = settings.StateBytes - (settings.StateBytes - 2 > 127 ? 3 : 2);
        using var stop = new CancellationTokenSource();
        // Microseconds up to an hour with 1 significant digit: 16 linear sub-buckets per power of two, the resolution
        // (about 6 %) of the histogram the earlier storage benchmarks used, so that their percentiles still compare.
        var histogram = new LongConcurrentHistogram(1, MaxLatencyMicroseconds, 1);
        var errors = new ConcurrentDictionary<string, int>();
        var measuring = 0;
        long written = 0;
        long late = 0;
        var origin = Stopwatch.GetTimestamp();

        var loops = Enumerable.Range(0, settings.Grains).Select(i => Task.Run(async () =>
        {
            var grain = factory.GetGrain<IStateWriterGrain>("VIN" + i.ToString("D8", CultureInfo.InvariantCulture));
            var interval = settings.Interval;
            // Open model: spread the grains' first writes over one interval, as vehicles connecting at random times would.
            var due = interval is { } first ? first * ((double)i / settings.Grains) : TimeSpan.Zero;
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                long intended;
                if (interval is { } period)
                {
                    var wait = due - Stopwatch.GetElapsedTime(origin);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }
                    else if (wait < -period && Volatile.Read(ref measuring) == 1)
                    {
                        Interlocked.Increment(ref late);
                    }

                    intended = origin + (long)(due.TotalSeconds * Stopwatch.Frequency);
                    due += period;
                }
                else
                {
                    intended = Stopwatch.GetTimestamp();
                }

                // A write that starts in the measured window and fails counts as an error even when it fails later
                // (a response timeout arrives 30 s after the call).
                var inWindow = Volatile.Read(ref measuring) == 1;
                try
                {
                    await grain.WriteAsync(n, payloadBytes);
                    if (Volatile.Read(ref measuring) == 1)
                    {
                        histogram.RecordValue(Math.Min((long)Stopwatch.GetElapsedTime(intended).TotalMicroseconds, MaxLatencyMicroseconds));
                        Interlocked.Increment(ref written);
                    }
                }
                catch (Exception ex)
                {
                    if (inWindow || Volatile.Read(ref measuring) == 1)
                    {
                        errors.AddOrUpdate(ex.GetType().Name, 1, (_, count) => count + 1);
                    }

                    if (!stop.IsCancellationRequested)
                    {
                        // The ETag the grain holds may be stale now; the next write shows whether it recovers.
                        await Task.Delay(100);
                    }
                }
            }
        })).ToList();

        await Task.Delay(settings.Warmup);
        var serverBefore = serverCpu is null ? TimeSpan.Zero : await serverCpu();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(settings.Duration);
        Volatile.Write(ref measuring, 0);
        var elapsed = clock.Elapsed.TotalSeconds;
        var states = Interlocked.Read(ref written);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var server = serverCpu is null ? (TimeSpan?)null : await serverCpu() - serverBefore;
        var threads = ThreadPool.ThreadCount;
        var pending = ThreadPool.PendingWorkItemCount;
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        Console.WriteLine($"  (at the end of the window: {threads} thread-pool threads, {pending} queued work items; after the window: {states} states written, errors counted until every loop ended)");
        if (host.Services.GetService<Vehicles.Storage.BatchedGrainStorage>() is { } batched)
        {
            var statistics = batched.WriteStatistics;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  (batched storage, whole run incl. warm-up: {statistics.Operations} writes in {statistics.Batches} batches, {(double)statistics.Operations / Math.Max(1, statistics.Batches):0.0} per batch, largest {statistics.LargestBatch})"));
        }

        return new StorageResult(
            states / elapsed,
            histogram.TotalCount == 0 ? 0 : histogram.GetValueAtPercentile(50) / 1000.0,
            histogram.TotalCount == 0 ? 0 : histogram.GetValueAtPercentile(99) / 1000.0,
            histogram.GetMaxValue() / 1000.0,
            states == 0 ? 0 : cpu.TotalMicroseconds / states,
            server is { } serverTime && states > 0 ? serverTime.TotalMicroseconds / states : null,
            errors.ToDictionary(),
            Interlocked.Read(ref late));
    }
}

/// <summary>What one storage scenario measured.</summary>
internal sealed record StorageResult(
    double StatesPerSecond, double P50Ms, double P99Ms, double MaxMs, double ClientCpuMicrosPerState, double? ServerCpuMicrosPerState,
    Dictionary<string, int> Errors, long Late)
{
    public string Format(string scenario)
    {
        var server = ServerCpuMicrosPerState is { } micros ? micros.ToString("0.0", CultureInfo.InvariantCulture) : "-";
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{scenario,-18} {StatesPerSecond,10:0} {P50Ms,8:0.0} {P99Ms,8:0.0} {MaxMs,8:0.0} {ClientCpuMicrosPerState,10:0.0} {server,10} {Errors.Values.Sum(),8} {Late,8}");
        return Errors.Count == 0 ? line : line + "  (" + string.Join(", ", Errors.Select(e => $"{e.Key}={e.Value}")) + ")";
    }
}

/// <summary>
/// CPU time of the PostgreSQL server processes serving this run's connections (Linux /proc; the server must be on this
/// machine), as the old persistence benchmark measured it. Processes seen once are remembered.
/// </summary>
internal sealed class PostgresServerCpu(NpgsqlDataSource monitor, string applicationName)
{
    private readonly Dictionary<int, long> _lastTicks = [];

    public async Task<TimeSpan> ReadAsync()
    {
        // Known processes are read first, before the query that finds new ones costs the server time.
        foreach (var pid in _lastTicks.Keys.ToList())
        {
            Refresh(pid);
        }

        await using var command = monitor.CreateCommand("SELECT pid FROM pg_stat_activity WHERE application_name = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = applicationName });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var pid = reader.GetInt32(0);
            if (!_lastTicks.ContainsKey(pid))
            {
                Refresh(pid);
            }
        }

        // /proc counts in USER_HZ, 100 per second on Linux.
        return TimeSpan.FromMilliseconds(_lastTicks.Values.Sum() * 10.0);
    }

    private void Refresh(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            _lastTicks[pid] = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            _lastTicks.TryAdd(pid, 0);
        }
    }
}
