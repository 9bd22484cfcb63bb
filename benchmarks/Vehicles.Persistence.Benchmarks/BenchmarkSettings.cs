using System.Globalization;

namespace Vehicles.Persistence.Benchmarks;

/// <summary>Command-line settings of a benchmark run.</summary>
internal sealed class BenchmarkSettings
{
    public int Grains { get; private set; } = 10_000;

    public int StateBytes { get; private set; } = 200;

    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(3);

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(10);

    public string? PostgresConnectionString { get; private set; } = Environment.GetEnvironmentVariable("VEHICLES_TEST_POSTGRES");

    /// <summary>Provider options for the batched scenarios; the defaults are the providers' own.</summary>
    public GrainStorageOptions Options { get; } = new();

    public HashSet<string>? Only { get; private set; }

    public bool Includes(string scenario) => Only is null || Only.Contains(scenario);

    public static BenchmarkSettings Parse(string[] args)
    {
        var settings = new BenchmarkSettings();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
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
                case "--postgres":
                    settings.PostgresConnectionString = value;
                    break;
                case "--max-batch":
                    settings.Options.MaxBatchSize = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--concurrent-batches":
                    settings.Options.MaxConcurrentBatches = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--only":
                    settings.Only = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                    break;
                default:
                    throw new ArgumentException($"Unknown option {args[i]}.");
            }

            i++;
        }

        return settings;
    }
}
