using System.Globalization;
using Vehicles.Persistence.Benchmarks;

// State writes from many grains at once, each grain writing its ~200-byte state with its ETag again and
// again, against the batched providers and, as the baseline, one statement per write.
//
//   dotnet run -c Release --project benchmarks/Vehicles.Persistence.Benchmarks -- \
//       [--grains 10000] [--seconds 10] [--warmup 3] [--state-bytes 200] [--postgres "<connection string>"] \
//       [--max-batch 2048] [--concurrent-batches 2] [--only postgres-batched,postgres-naive,sqlite-batched,sqlite-naive]
var settings = BenchmarkSettings.Parse(args);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{settings.Grains} grains, {settings.StateBytes}-byte states, {settings.Warmup.TotalSeconds:0} s warm-up, {settings.Duration.TotalSeconds:0} s measured, {Environment.ProcessorCount} cores; batches of at most {settings.Options.MaxBatchSize}, {settings.Options.MaxConcurrentBatches} in flight (PostgreSQL)"));
Console.WriteLine("client CPU / server CPU: CPU time per state written, in microseconds, of this process and of this run's PostgreSQL backends.");
Console.WriteLine();
Console.WriteLine($"{"scenario",-18} {"states/s",10} {"batches/s",10} {"avg batch",10} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"client CPU",10} {"server CPU",10}");

foreach (var scenario in Scenarios.All)
{
    if (!settings.Includes(scenario.Name))
    {
        continue;
    }

    var result = await scenario.RunAsync(settings);
    Console.WriteLine(result.Format(scenario.Name));
}
