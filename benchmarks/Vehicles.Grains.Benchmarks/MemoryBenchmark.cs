using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Vehicles.Grains.Benchmarks;

/// <summary>
/// Managed heap held per idle activation of a grain with a small persistent state, with a million activations resident
/// at once, as the old runtime's <c>memory</c> mode measured it. The state's provider is an empty in-memory storage
/// (reads find nothing, writes are dropped), as in the old benchmark, so that only the activation is counted.
/// </summary>
internal static class MemoryBenchmark
{
    /// <summary>The storage provider name of <see cref="ParkedVehicleGrain"/>'s state.</summary>
    public const string StorageName = "bench-memory";

    public static async Task RunAsync(int count)
    {
        using var host = await BenchSilo.StartAsync([], withStorage: false, silo =>
            silo.Services.AddGrainStorage(StorageName, (_, _) => new EmptyGrainStorage()));
        var factory = host.Services.GetRequiredService<IGrainFactory>();
        var management = factory.GetGrain<IManagementGrain>(0);
        var activationsBefore = await management.GetTotalActivationCount();
        var keys = Enumerable.Range(0, count).Select(i => "WVWZZZ1JZ" + i.ToString("D8", CultureInfo.InvariantCulture)).ToArray();
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
                calls[i - start] = factory.GetGrain<IParkedVehicleGrain>(keys[i]).GetBatteryAsync();
            }

            await Task.WhenAll(calls);
        }

        watch.Stop();
        var after = Settle();
        var activations = await management.GetTotalActivationCount() - activationsBefore;
        var perActivation = (double)(after - before) / count;

        // The state object itself: header + method table (16) + long + int, padded to 32 bytes.
        const int StateBytes = 32;
        Console.WriteLine($"activated {activations:N0} grains in {watch.Elapsed.TotalSeconds:F1} s ({count / watch.Elapsed.TotalSeconds:N0} activations/s)");
        Console.WriteLine($"memory per idle activation: {perActivation:F0} bytes total, {perActivation - StateBytes:F0} bytes beyond the {StateBytes}-byte state " +
            $"(the key strings, {keyBytes / (double)count:F0} bytes each, were allocated before the baseline and are not counted)");
        Console.WriteLine($"managed heap {before / 1048576.0:F0} MiB before, {after / 1048576.0:F0} MiB after; process working set {Environment.WorkingSet / 1048576.0:F0} MiB; " +
            $"24 GiB / {perActivation:F0} bytes = {24.0 * 1024 * 1024 * 1024 / perActivation / 1e6:F1} M activations (heap only)");
        GC.KeepAlive(keys);
        await host.StopAsync();
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

    /// <summary>Reads find no state, writes and clears succeed without keeping anything.</summary>
    private sealed class EmptyGrainStorage : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            grainState.ETag = "1";
            grainState.RecordExists = true;
            return Task.CompletedTask;
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }
    }
}
