using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Vehicles.Actors;
using Vehicles.Actors.Benchmarks;
using Vehicles.Persistence;

// Usage: dotnet run -c Release --project benchmarks/Vehicles.Actors.Benchmarks -- [calls|memory|all] [seconds=5] [callers=1000] [grains=10000] [activations=1000000]
var mode = args.Length > 0 ? args[0] : "all";
var seconds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
var callers = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1000;
var grains = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10_000;
var activations = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;

Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}");
if (mode is "calls" or "all")
{
    await CallBenchmark.RunAsync(TimeSpan.FromSeconds(seconds), callers, grains);
}

if (mode is "memory" or "all")
{
    await MemoryBenchmark.RunAsync(activations);
}

/// <summary>Throughput of local grain calls against the cost of a direct call.</summary>
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

        await using var services = new ServiceCollection().AddActors().Services.BuildServiceProvider();
        var runtime = services.GetRequiredService<ActorRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        var grains = Enumerable.Range(0, grainCount).Select(i => runtime.GetGrain<ICounterGrain>("vehicle-" + i)).ToArray();
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

        await runtime.StopAsync(CancellationToken.None);
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

/// <summary>Memory held per idle activation with a small persistent state.</summary>
internal static class MemoryBenchmark
{
    public static async Task RunAsync(int count)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IGrainStorage, EmptyStorage>();
        services.AddActors();
        await using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<ActorRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        var keys = Enumerable.Range(0, count).Select(i => "WVWZZZ1JZ" + i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var keyBytes = keys.Sum(k => 22L + (2L * k.Length) + 2);

        var before = Settle();
        var watch = Stopwatch.StartNew();
        const int Batch = 10_000;
        for (var start = 0; start < count; start += Batch)
        {
            var end = Math.Min(count, start + Batch);
            var calls = new Task<int>[end - start];
            for (var i = start; i < end; i++)
            {
                calls[i - start] = runtime.GetGrain<IParkedVehicleGrain>(keys[i]).GetBatteryAsync();
            }

            await Task.WhenAll(calls);
        }

        watch.Stop();
        var after = Settle();
        var perActivation = (double)(after - before) / count;

        // The state object itself: header + method table (16) + long + int, padded to 32 bytes.
        const int StateBytes = 32;
        Console.WriteLine($"activated {runtime.ActivationCount:N0} grains in {watch.Elapsed.TotalSeconds:F1} s ({count / watch.Elapsed.TotalSeconds:N0} activations/s)");
        Console.WriteLine($"memory per idle activation: {perActivation:F0} bytes total, {perActivation - StateBytes:F0} bytes beyond the {StateBytes}-byte state " +
            $"(the key strings, {keyBytes / (double)count:F0} bytes each, were allocated before the baseline and are not counted)");
        GC.KeepAlive(keys);
    }

    private static long Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private sealed class EmptyStorage : IGrainStorage
    {
        public Task<StoredState?> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default) => Task.FromResult<StoredState?>(null);

        public Task<string> WriteAsync(string grainType, string grainKey, ReadOnlyMemory<byte> data, string? expectedEtag, CancellationToken cancellationToken = default) => Task.FromResult("1");

        public Task ClearAsync(string grainType, string grainKey, string? expectedEtag, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}
