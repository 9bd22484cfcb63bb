using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;
using Vehicles.Actors;
using Vehicles.Grains;

namespace Vehicles.Cluster.Benchmarks;

/// <summary>
/// Starts two clustered silos, A and B, in this process and calls <see cref="IVehicleGrain.GetAsync"/> from A's grain
/// factory on vehicles A owns (the call stays in the process's actor runtime) and on vehicles B owns (the call goes
/// through A's silo connection to B and back): sequential latency and concurrent throughput of each, in the same run.
/// </summary>
internal static class CallBenchmark
{
    private const int YieldEvery = 256;

    private static readonly TimeSpan _callTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(string[] args)
    {
        BenchmarkSettings settings;
        try
        {
            settings = BenchmarkSettings.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}\n{BenchmarkSettings.Usage}");
            return 1;
        }

        var postgres = Environment.GetEnvironmentVariable("VEHICLES_TEST_POSTGRES");
        var redis = Environment.GetEnvironmentVariable("VEHICLES_TEST_REDIS");
        if (string.IsNullOrEmpty(postgres) || string.IsNullOrEmpty(redis))
        {
            await Console.Error.WriteLineAsync(
                "error: set VEHICLES_TEST_POSTGRES (an Npgsql connection string) and VEHICLES_TEST_REDIS (host:port): the silos cluster on PostgreSQL and Redis.");
            return 1;
        }

        var id = "bench_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var environment = new ClusterEnvironment(
            postgres, redis, id + "_storage", id + "_cluster", id, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await using var a = await BenchmarkSilo.StartAsync(environment, overall.Token);
            await using var b = await BenchmarkSilo.StartAsync(environment, overall.Token);
            await WaitUntilBothActiveAsync(a, b, overall.Token);
            Console.WriteLine($"silos A {a.Endpoint} and B {b.Endpoint} active (schemas {environment.StorageSchema}, {environment.ClusterSchema})");
            await MeasureAsync(settings, a, b);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message);
            return 2;
        }
        finally
        {
            await DropSchemasAsync(environment);
        }

        return 0;
    }

    private static async Task MeasureAsync(BenchmarkSettings settings, BenchmarkSilo a, BenchmarkSilo b)
    {
        var (local, forwarded) = PickVehicles(settings.Vehicles, id: Convert.ToHexString(RandomNumberGenerator.GetBytes(3)), a, b);
        var localGrains = local.Select(vin => a.Grains.GetGrain<IVehicleGrain>(vin)).ToArray();
        var forwardedGrains = forwarded.Select(vin => a.Grains.GetGrain<IVehicleGrain>(vin)).ToArray();

        // Activations (a storage read each) and JIT are not what is measured: every grain is called once, then both
        // paths run briefly under load.
        await Task.WhenAll(localGrains.Concat(forwardedGrains).Select(g => g.GetAsync().WaitAsync(_callTimeout)));
        await ConcurrentAsync(localGrains, settings.Concurrency, TimeSpan.FromSeconds(2));
        await ConcurrentAsync(forwardedGrains, settings.Concurrency, TimeSpan.FromSeconds(2));

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Vehicles} vehicles each side; sequential: up to {settings.SequentialCalls} calls or {settings.SequentialTime.TotalSeconds} s; concurrent: {settings.Concurrency} callers for {settings.Duration.TotalSeconds} s"));
        Console.WriteLine();
        Console.WriteLine("| round | calls | seq. calls | seq. p50 µs | seq. p99 µs | seq. mean µs | conc. calls/s | conc. p50 µs | conc. p99 µs | errors |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (var round = 1; round <= settings.Rounds; round++)
        {
            var localSequential = await SequentialAsync(localGrains, settings.SequentialCalls, settings.SequentialTime);
            var forwardedSequential = await SequentialAsync(forwardedGrains, settings.SequentialCalls, settings.SequentialTime);
            var localConcurrent = await ConcurrentAsync(localGrains, settings.Concurrency, settings.Duration);
            var forwardedConcurrent = await ConcurrentAsync(forwardedGrains, settings.Concurrency, settings.Duration);
            if (!StillAsPicked(a, b, local, forwarded))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Round {round} is invalid: membership changed while it ran (A sees {a.Placement.Placement.Silos.Count} silos, B {b.Placement.Placement.Silos.Count}); see the log above."));
            }

            Row(round, "local", localSequential, localConcurrent);
            Row(round, "forwarded", forwardedSequential, forwardedConcurrent);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {round} | forwarded/local | | {Ratio(forwardedSequential.P50, localSequential.P50)} | {Ratio(forwardedSequential.P99, localSequential.P99)} | {Ratio(forwardedSequential.Mean, localSequential.Mean)} | {Ratio(forwardedConcurrent.PerSecond, localConcurrent.PerSecond)} | {Ratio(forwardedConcurrent.P50, localConcurrent.P50)} | {Ratio(forwardedConcurrent.P99, localConcurrent.P99)} | |"));
        }
    }

    private static void Row(int round, string kind, Measurement sequential, Measurement concurrent) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {round} | {kind} | {sequential.Calls} | {sequential.P50:0.0} | {sequential.P99:0.0} | {sequential.Mean:0.0} | {concurrent.PerSecond:0} | {concurrent.P50:0.0} | {concurrent.P99:0.0} | {sequential.Errors + concurrent.Errors} |"));

    private static string Ratio(double value, double baseline) =>
        baseline > 0 ? (value / baseline).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "n/a";

    private static (string[] Local, string[] Forwarded) PickVehicles(int perSide, string id, BenchmarkSilo a, BenchmarkSilo b)
    {
        var local = new List<string>(perSide);
        var forwarded = new List<string>(perSide);
        for (var i = 0; i < perSide * 100 && (local.Count < perSide || forwarded.Count < perSide); i++)
        {
            var vin = string.Create(CultureInfo.InvariantCulture, $"BENCH{id}{i:D6}");
            var grain = new GrainId("vehicle", vin);
            var side = a.Placement.IsLocal(grain) ? local : forwarded;
            if (side.Count < perSide)
            {
                side.Add(vin);
            }
        }

        if (local.Count < perSide || forwarded.Count < perSide)
        {
            throw new InvalidOperationException($"Could not find {perSide} vehicles on each silo: placement puts {local.Count} on A and {forwarded.Count} elsewhere.");
        }

        // The two silos must agree, or "forwarded" calls would be forwarded twice or not at all.
        if (forwarded.Any(vin => !b.Placement.IsLocal(new GrainId("vehicle", vin))) || local.Any(vin => b.Placement.IsLocal(new GrainId("vehicle", vin))))
        {
            throw new InvalidOperationException("Silos A and B disagree on placement.");
        }

        return ([.. local], [.. forwarded]);
    }

    private static bool StillAsPicked(BenchmarkSilo a, BenchmarkSilo b, string[] local, string[] forwarded) =>
        a.Placement.Placement.Silos.Count == 2
        && b.Placement.Placement.Silos.Count == 2
        && local.All(vin => a.Placement.IsLocal(new GrainId("vehicle", vin)))
        && forwarded.All(vin => b.Placement.IsLocal(new GrainId("vehicle", vin)));

    private static async Task<Measurement> SequentialAsync(IVehicleGrain[] grains, int calls, TimeSpan limit)
    {
        var latencies = new List<long>(calls);
        var errors = 0;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls && Stopwatch.GetElapsedTime(started) < limit; i++)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                await grains[i % grains.Length].GetAsync().WaitAsync(_callTimeout);
                latencies.Add(Stopwatch.GetTimestamp() - start);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                errors++;
            }
        }

        return Measurement.From(latencies, errors, Stopwatch.GetElapsedTime(started));
    }

    private static async Task<Measurement> ConcurrentAsync(IVehicleGrain[] grains, int callers, TimeSpan duration)
    {
        var perCaller = new List<long>[callers];
        var errors = 0;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
        {
            await Task.Yield();
            var latencies = perCaller[caller] = new List<long>(4096);
            var calls = 0;
            for (var i = caller; Stopwatch.GetElapsedTime(started) < duration; i += callers)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await grains[i % grains.Length].GetAsync().WaitAsync(_callTimeout);
                    latencies.Add(Stopwatch.GetTimestamp() - start);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Interlocked.Increment(ref errors);
                }

                // A local call can complete synchronously: without yielding now and then, the callers would hold every
                // thread-pool thread, starve both silos' heartbeats and probes, and get silo A declared dead.
                if (++calls % YieldEvery == 0)
                {
                    await Task.Yield();
                }
            }
        }));
        return Measurement.From([.. perCaller.SelectMany(l => l)], errors, Stopwatch.GetElapsedTime(started));
    }

    private static async Task WaitUntilBothActiveAsync(BenchmarkSilo a, BenchmarkSilo b, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
        while (a.Placement.Placement.Silos.Count != 2 || b.Placement.Placement.Silos.Count != 2)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException(
                    $"The two silos did not both become active within 60 s (A sees {a.Placement.Placement.Silos.Count}, B sees {b.Placement.Placement.Silos.Count}).");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static async Task DropSchemasAsync(ClusterEnvironment environment)
    {
        try
        {
            await using var connection = new NpgsqlConnection(environment.Postgres);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"DROP SCHEMA IF EXISTS \"{environment.StorageSchema}\" CASCADE; DROP SCHEMA IF EXISTS \"{environment.ClusterSchema}\" CASCADE", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            await Console.Error.WriteLineAsync($"warning: could not drop the benchmark's schemas: {e.Message}");
        }
    }

    private sealed record Measurement(int Calls, int Errors, double PerSecond, double P50, double P99, double Mean)
    {
        public static Measurement From(List<long> ticks, int errors, TimeSpan elapsed)
        {
            if (ticks.Count == 0)
            {
                return new Measurement(0, errors, 0, 0, 0, 0);
            }

            ticks.Sort();
            var toMicroseconds = 1_000_000.0 / Stopwatch.Frequency;
            double At(double quantile) => ticks[Math.Min(ticks.Count - 1, (int)(quantile * ticks.Count))] * toMicroseconds;
            return new Measurement(ticks.Count, errors, ticks.Count / elapsed.TotalSeconds, At(0.50), At(0.99), ticks.Average() * toMicroseconds);
        }
    }
}
