using System.Diagnostics;
using System.Globalization;

namespace Vehicles.Persistence.Benchmarks;

/// <summary>Writes one state, given the grain key, the bytes and the ETag last seen; returns the new ETag.</summary>
internal delegate Task<string> WriteState(string grainKey, ReadOnlyMemory<byte> state, string? etag);

/// <summary>What one scenario measured.</summary>
internal sealed record BenchmarkResult(double StatesPerSecond, double? BatchesPerSecond, double? AverageBatch, double P50Ms, double P99Ms, double MaxMs, double ClientCpuMicrosPerState, double? ServerCpuMicrosPerState)
{
    public string Format(string scenario)
    {
        var batches = BatchesPerSecond is { } perSecond ? perSecond.ToString("0", CultureInfo.InvariantCulture) : "-";
        var average = AverageBatch is { } size ? size.ToString("0.0", CultureInfo.InvariantCulture) : "-";
        var server = ServerCpuMicrosPerState is { } micros ? micros.ToString("0.0", CultureInfo.InvariantCulture) : "-";
        return string.Create(CultureInfo.InvariantCulture,
            $"{scenario,-18} {StatesPerSecond,10:0} {batches,10} {average,10} {P50Ms,8:0.0} {P99Ms,8:0.0} {MaxMs,8:0.0} {ClientCpuMicrosPerState,10:0.0} {server,10}");
    }
}

/// <summary>
/// Runs every grain as its own loop: write the state with the last ETag, take the new ETag, change a few
/// bytes, write again; the grains' writes are concurrent, each grain's are sequential, as in a silo.
/// </summary>
internal static class LoadDriver
{
    /// <param name="settings">Grains, state size, warm-up and measured time.</param>
    /// <param name="write">Writes one state.</param>
    /// <param name="statistics">The provider's batch counters, when it batches.</param>
    /// <param name="serverCpu">Reads the CPU time the database server has spent for this run so far, when it is a separate process.</param>
    public static async Task<BenchmarkResult> RunAsync(BenchmarkSettings settings, WriteState write, WriteBatchStatistics? statistics, Func<Task<TimeSpan>>? serverCpu = null)
    {
        using var stop = new CancellationTokenSource();
        var histogram = new LatencyHistogram();
        var measuring = 0;
        long written = 0;

        var grains = Enumerable.Range(0, settings.Grains).Select(i => Task.Run(async () =>
        {
            var key = "VIN" + i.ToString("D8", CultureInfo.InvariantCulture);
            var state = new byte[settings.StateBytes];
            Random.Shared.NextBytes(state);
            string? etag = null;
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                BitConverter.TryWriteBytes(state, n);
                var started = Stopwatch.GetTimestamp();
                etag = await write(key, state, etag);
                if (Volatile.Read(ref measuring) == 1)
                {
                    histogram.Record(Stopwatch.GetElapsedTime(started));
                    Interlocked.Increment(ref written);
                }
            }
        })).ToList();

        await Task.Delay(settings.Warmup);
        // Snapshots sit right next to the flips of the measuring flag, the slow server read outermost.
        var serverBefore = serverCpu is null ? TimeSpan.Zero : await serverCpu();
        var batchesBefore = statistics?.Batches ?? 0;
        var operationsBefore = statistics?.Operations ?? 0;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(settings.Duration);
        Volatile.Write(ref measuring, 0);
        var elapsed = clock.Elapsed.TotalSeconds;
        var states = Interlocked.Read(ref written);
        var batches = (statistics?.Batches ?? 0) - batchesBefore;
        var operations = (statistics?.Operations ?? 0) - operationsBefore;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var server = serverCpu is null ? (TimeSpan?)null : await serverCpu() - serverBefore;
        await stop.CancelAsync();
        await Task.WhenAll(grains);

        return new BenchmarkResult(
            states / elapsed,
            statistics is null ? null : batches / elapsed,
            statistics is null || batches == 0 ? null : (double)operations / batches,
            histogram.Percentile(0.50).TotalMilliseconds,
            histogram.Percentile(0.99).TotalMilliseconds,
            histogram.Max.TotalMilliseconds,
            states == 0 ? 0 : cpu.TotalMicroseconds / states,
            server is { } serverTime && states > 0 ? serverTime.TotalMicroseconds / states : null);
    }
}
