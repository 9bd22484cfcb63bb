using System.Globalization;

namespace Vehicles.Cluster.Benchmarks;

/// <summary>What to measure, from the command line (<c>--name value</c>), with defaults that finish in about a minute.</summary>
internal sealed record BenchmarkSettings
{
    public const string Usage = """
        Vehicles.Cluster.Benchmarks: local vs forwarded grain calls between two silos in this process.
        Needs VEHICLES_TEST_POSTGRES and VEHICLES_TEST_REDIS.

          --vehicles <n>      vehicles on each side (owned by silo A / by silo B), default 256
          --sequential <n>    sequential calls per side, default 5000 (bounded by --sequential-time)
          --sequential-time <s> most seconds per sequential measurement, default 15
          --concurrency <n>   concurrent callers in the throughput measurement, default 64
          --duration <s>      seconds per throughput measurement, default 10
          --rounds <n>        repeat the four measurements, default 1
        """;

    public int Vehicles { get; init; } = 256;

    public int SequentialCalls { get; init; } = 5000;

    public TimeSpan SequentialTime { get; init; } = TimeSpan.FromSeconds(15);

    public int Concurrency { get; init; } = 64;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    public int Rounds { get; init; } = 1;

    public static BenchmarkSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new BenchmarkSettings();
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            settings = args[i] switch
            {
                "--vehicles" => settings with { Vehicles = Number(value, 1, 100_000) },
                "--sequential" => settings with { SequentialCalls = Number(value, 1, 10_000_000) },
                "--sequential-time" => settings with { SequentialTime = TimeSpan.FromSeconds(Number(value, 1, 600)) },
                "--concurrency" => settings with { Concurrency = Number(value, 1, 10_000) },
                "--duration" => settings with { Duration = TimeSpan.FromSeconds(Number(value, 1, 600)) },
                "--rounds" => settings with { Rounds = Number(value, 1, 100) },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
            };
            i++;
        }

        return settings;
    }

    private static int Number(string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"'{text}' must be a whole number from {min} to {max}."));
}
