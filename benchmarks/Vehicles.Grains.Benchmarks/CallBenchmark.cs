using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Vehicles.Grains.Benchmarks;

/// <summary>
/// Throughput of local grain calls against the cost of a direct call, as the old runtime's <c>calls</c> mode measured
/// it: the same grain, callers and loop, here on an Orleans silo in this process, called through its grain factory.
/// </summary>
internal static class CallBenchmark
{
    public static async Task RunAsync(TimeSpan duration, int callers, int grainCount)
    {
        var direct = new DirectCounter();
        await DirectAsync(direct, 10_000_000);
        var directCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        const int DirectCalls = 50_000_000;
        var directNs = await DirectAsync(direct, DirectCalls);
        var directCpuNs = (Process.GetCurrentProcess().TotalProcessorTime - directCpuBefore).TotalMilliseconds * 1e6 / DirectCalls;
        Console.WriteLine($"direct call (await ValueTask<long> on the object, one thread): {directNs:F2} ns/call wall-clock, {directCpuNs:F2} ns CPU per call");

        using var host = await BenchSilo.StartAsync([], withStorage: false);
        var factory = host.Services.GetRequiredService<IGrainFactory>();
        var grains = Enumerable.Range(0, grainCount).Select(i => factory.GetGrain<ICounterGrain>("vehicle-" + i)).ToArray();
        await Task.WhenAll(grains.Select(g => g.AddAsync(0).AsTask()));

        foreach (var useTask in new[] { false, true })
        {
            var label = useTask ? "Task<long>" : "ValueTask<long>";
            await MeasureAsync(grains, callers, TimeSpan.FromSeconds(2), useTask);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var (calls, elapsed, gcs) = await MeasureAsync(grains, callers, duration, useTask);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var nsPerCall = cpu.TotalMilliseconds * 1e6 / calls;

            // On a shared machine the wall-clock rate depends on what else runs; CPU time per call does not, and
            // cores / (CPU per call) is the rate this process reaches when it has the cores to itself.
            Console.WriteLine(
                $"grain calls ({label}), {grainCount} grains, {callers} concurrent callers: {calls / elapsed.TotalSeconds:N0} calls/s wall-clock; " +
                $"{nsPerCall:F0} ns CPU per call, i.e. {Environment.ProcessorCount * 1e9 / nsPerCall:N0} calls/s on {Environment.ProcessorCount} free cores " +
                $"(process used {cpu.TotalSeconds / elapsed.TotalSeconds:F2} cores; gen0 GCs {gcs})");
        }

        await host.StopAsync();
    }

    private static async Task<double> DirectAsync(DirectCounter direct, int count)
    {
        var watch = Stopwatch.StartNew();
        long sum = 0;
        for (var i = 0; i < count; i++)
        {
            sum += await direct.AddAsync(1);
        }

        watch.Stop();
        GC.KeepAlive(sum);
        return watch.Elapsed.TotalMilliseconds * 1e6 / count;
    }

    private static async Task<(long Calls, TimeSpan Elapsed, int Gen0)> MeasureAsync(ICounterGrain[] grains, int callers, TimeSpan duration, bool useTask)
    {
        using var stop = new CancellationTokenSource();
        var counts = new long[callers];
        var gen0 = GC.CollectionCount(0);
        var watch = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var index = c;
            long done = 0;
            while (!stop.IsCancellationRequested)
            {
                index = (index + 7919) % grains.Length;
                if (useTask)
                {
                    await grains[index].AddTaskAsync(1);
                }
                else
                {
                    await grains[index].AddAsync(1);
                }

                done++;
            }

            counts[c] = done;
        })).ToArray();
        await Task.Delay(duration);
        stop.Cancel();
        await Task.WhenAll(loops);
        watch.Stop();
        return (counts.Sum(), watch.Elapsed, GC.CollectionCount(0) - gen0);
    }
}
