using System.Globalization;
using Vehicles.Grains.Benchmarks;

// Benchmarks of the Orleans silo, next to the figures of the deleted Vehicles.Actors.Benchmarks and
// Vehicles.Persistence.Benchmarks (docs/benchmarks.md, "Orleans move"):
//
//   dotnet run -c Release --project benchmarks/Vehicles.Grains.Benchmarks -- storage [--grains 10000] [--seconds 10] [--warmup 3]
//       [--state-bytes 200] [--interval <s>] [--postgres "<connection string>"] [--only postgres,sqlite]
//   dotnet run -c Release --project benchmarks/Vehicles.Grains.Benchmarks -- calls [seconds=10] [callers=1000] [grains=10000]
//   dotnet run -c Release --project benchmarks/Vehicles.Grains.Benchmarks -- memory [activations=1000000]
var mode = args.Length > 0 ? args[0] : throw new ArgumentException("Give a mode: storage, calls or memory.");
int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}, Orleans {typeof(IGrainFactory).Assembly.GetName().Version}");
switch (mode)
{
    case "storage":
        await StorageBenchmark.RunAsync(StorageSettings.Parse(args[1..]));
        break;
    case "calls":
        await CallBenchmark.RunAsync(TimeSpan.FromSeconds(Arg(1, 10)), Arg(2, 1000), Arg(3, 10_000));
        break;
    case "memory":
        await MemoryBenchmark.RunAsync(Arg(1, 1_000_000));
        break;
    default:
        throw new ArgumentException($"Unknown mode {mode}: storage, calls or memory.");
}
