namespace Vehicles.Grpc.Benchmarks;

/// <summary>Command-line settings of the benchmark server.</summary>
/// <param name="RequestFile">Where to write the framed request h2load posts, or <see langword="null"/>.</param>
/// <param name="MinimalService">Serve Echo with <see cref="MinimalEchoService"/> instead of <see cref="TestEchoService"/>.</param>
/// <param name="AllocationProfile">Sample allocations by type (<see cref="AllocationProfiler"/>).</param>
internal sealed record BenchmarkSettings(string? RequestFile, bool MinimalService, bool AllocationProfile)
{
    private const string Usage = "Usage: Vehicles.Grpc.Benchmarks [--request-file PATH] [--service test|minimal] [--alloc-profile]";

    public static BenchmarkSettings Parse(string[] args)
    {
        string? requestFile = null;
        var minimal = false;
        var profile = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--request-file" when i + 1 < args.Length:
                    requestFile = args[++i];
                    break;
                case "--service" when i + 1 < args.Length && args[i + 1] is "test" or "minimal":
                    minimal = args[++i] == "minimal";
                    break;
                case "--alloc-profile":
                    profile = true;
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. {Usage}", nameof(args));
            }
        }

        return new BenchmarkSettings(requestFile, minimal, profile);
    }
}
