namespace Vehicles.LoadTest;

/// <summary>Count, mean and percentiles of a latency histogram, in microseconds.</summary>
/// <param name="Count">Number of recorded latencies.</param>
/// <param name="Min">Smallest latency.</param>
/// <param name="Mean">Mean latency (each value at the middle of its histogram sub-bucket).</param>
/// <param name="P50">Median.</param>
/// <param name="P75">75th percentile.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P95">95th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="P999">99.9th percentile.</param>
/// <param name="Max">Largest latency.</param>
public sealed record LatencySummary(
    long Count,
    long Min,
    double Mean,
    long P50,
    long P75,
    long P90,
    long P95,
    long P99,
    long P999,
    long Max)
{
    /// <summary>The summary of an empty histogram: all zero.</summary>
    public static LatencySummary Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
