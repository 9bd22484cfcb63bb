namespace Vehicles.LoadTest;

/// <summary>Latency statistics in milliseconds, as reported.</summary>
/// <param name="Count">Number of latencies (successful calls).</param>
/// <param name="Min">Smallest.</param>
/// <param name="Mean">Mean.</param>
/// <param name="P50">Median.</param>
/// <param name="P75">75th percentile.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P95">95th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="P999">99.9th percentile.</param>
/// <param name="Max">Largest.</param>
public sealed record LatencyMs(
    long Count, double Min, double Mean, double P50, double P75, double P90, double P95, double P99, double P999, double Max)
{
    /// <summary>Converts a summary in microseconds.</summary>
    public static LatencyMs From(LatencySummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new LatencyMs(
            summary.Count,
            summary.Min / 1000.0,
            Math.Round(summary.Mean / 1000.0, 3),
            summary.P50 / 1000.0,
            summary.P75 / 1000.0,
            summary.P90 / 1000.0,
            summary.P95 / 1000.0,
            summary.P99 / 1000.0,
            summary.P999 / 1000.0,
            summary.Max / 1000.0);
    }
}

/// <summary>One scenario's statistics over one interval (about a second).</summary>
/// <param name="Scenario">The scenario.</param>
/// <param name="ElapsedSeconds">End of the interval, in seconds from the start of the run (warm-up included).</param>
/// <param name="IntervalSeconds">Length of the interval.</param>
/// <param name="Requests">Measured calls that ended in the interval.</param>
/// <param name="Ok">Of which succeeded.</param>
/// <param name="Failed">Of which failed.</param>
/// <param name="Rps">Measured calls per second.</param>
/// <param name="Latency">Latency of the successful calls.</param>
/// <param name="Errors">Failed calls by status name.</param>
/// <param name="Gauges">Gauge values at the end of the interval.</param>
/// <param name="WarmUpCalls">Warm-up calls that ended in the interval.</param>
/// <param name="Dropped">Open-model arrivals dropped.</param>
/// <param name="Late">Open-model calls started late.</param>
/// <param name="InFlight">Calls in flight at the end of the interval.</param>
public sealed record TimeSeriesPoint(
    string Scenario,
    double ElapsedSeconds,
    double IntervalSeconds,
    long Requests,
    long Ok,
    long Failed,
    double Rps,
    LatencyMs Latency,
    IReadOnlyDictionary<string, long> Errors,
    IReadOnlyDictionary<string, long> Gauges,
    long WarmUpCalls,
    long Dropped,
    long Late,
    long InFlight);

/// <summary>Statistics over a whole run (warm-up excluded), for a scenario or for all of them.</summary>
/// <param name="Requests">Measured calls.</param>
/// <param name="Ok">Of which succeeded.</param>
/// <param name="Failed">Of which failed.</param>
/// <param name="ErrorRate">Failed / Requests, a fraction (0 when there were no calls).</param>
/// <param name="Rps">Requests per measured second.</param>
/// <param name="MeasuredSeconds">From the end of warm-up to the end of the last call.</param>
/// <param name="Latency">Latency of the successful calls.</param>
/// <param name="Errors">Failed calls by status name.</param>
/// <param name="WarmUpCalls">Calls made during warm-up.</param>
/// <param name="Dropped">Open-model arrivals dropped because too many calls were in flight.</param>
/// <param name="Late">Open-model calls started later than allowed.</param>
/// <param name="Abandoned">Calls still running when the harness stopped waiting.</param>
/// <param name="Discrepancies">Correctness discrepancies reported.</param>
public sealed record ScenarioTotals(
    long Requests,
    long Ok,
    long Failed,
    double ErrorRate,
    double Rps,
    double MeasuredSeconds,
    LatencyMs Latency,
    IReadOnlyDictionary<string, long> Errors,
    long WarmUpCalls,
    long Dropped,
    long Late,
    long Abandoned,
    long Discrepancies);

/// <summary>Everything about one scenario's run.</summary>
/// <param name="Name">The scenario.</param>
/// <param name="Model">The load model, described.</param>
/// <param name="Totals">Whole-run statistics.</param>
/// <param name="TimeSeries">Per-second statistics.</param>
/// <param name="Discrepancies">Correctness discrepancies kept (see <see cref="ScenarioTotals.Discrepancies"/> for the count).</param>
/// <param name="Histogram">The whole-run latency histogram (microseconds), occupied sub-buckets only.</param>
public sealed record ScenarioReport(
    string Name,
    string Model,
    ScenarioTotals Totals,
    IReadOnlyList<TimeSeriesPoint> TimeSeries,
    IReadOnlyList<Discrepancy> Discrepancies,
    IReadOnlyList<HistogramBucket> Histogram)
{
    /// <summary>Latencies the scenario measured besides its steps' (warm-up included), by name.</summary>
    public IReadOnlyDictionary<string, LatencyMs> Metrics { get; init; } = new Dictionary<string, LatencyMs>();

    /// <summary>The scenario's gauges at the end of the run, after verification.</summary>
    public IReadOnlyDictionary<string, long> FinalGauges { get; init; } = new Dictionary<string, long>();
}

/// <summary>One occupied sub-bucket of a latency histogram.</summary>
/// <param name="Value">The lowest value (microseconds) that falls into the sub-bucket.</param>
/// <param name="Count">How many values were recorded in it.</param>
public readonly record struct HistogramBucket(long Value, long Count);

/// <summary>The outcome of one threshold.</summary>
/// <param name="Expression">The threshold as written.</param>
/// <param name="Scope">The scenario it applies to, or <c>all</c>.</param>
/// <param name="Actual">The measured value, in the threshold's unit (milliseconds, a fraction, calls per second…).</param>
/// <param name="Passed">Whether the measured value satisfies it.</param>
/// <param name="Message">The reason it could not be evaluated, when it could not.</param>
public sealed record ThresholdResult(string Expression, string Scope, double? Actual, bool Passed, string? Message = null);

/// <summary>Everything about a run: what the JSON report holds and the other reports show.</summary>
/// <param name="Tool">The tool's name.</param>
/// <param name="StartedAt">When the run started.</param>
/// <param name="DurationSeconds">Wall time of the run, warm-up and draining included.</param>
/// <param name="Target">The system under test, when one was given.</param>
/// <param name="Scenarios">Per-scenario results.</param>
/// <param name="Global">All scenarios together.</param>
/// <param name="Thresholds">The thresholds and whether they passed.</param>
/// <param name="Settings">The scheduler limits and scenario options the run used (never the token), to reproduce it.</param>
public sealed record RunReport(
    string Tool,
    DateTimeOffset StartedAt,
    double DurationSeconds,
    string? Target,
    IReadOnlyList<ScenarioReport> Scenarios,
    ScenarioTotals Global,
    IReadOnlyList<ThresholdResult> Thresholds,
    IReadOnlyDictionary<string, string>? Settings = null)
{
    /// <summary>Whether every threshold passed (true when there are none).</summary>
    public bool Passed => Thresholds.All(t => t.Passed);
}

/// <summary>Where a run is, reported about once a second to the live view.</summary>
/// <param name="ElapsedSeconds">Seconds since the run started.</param>
/// <param name="PlannedSeconds">Planned length of the run (warm-up included).</param>
/// <param name="Latest">Each scenario's latest interval.</param>
public sealed record RunProgress(double ElapsedSeconds, double PlannedSeconds, IReadOnlyList<TimeSeriesPoint> Latest);
