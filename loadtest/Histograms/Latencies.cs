using HdrHistogram;

namespace Vehicles.LoadTest;

/// <summary>
/// How the harness keeps latencies in HdrHistogram: microseconds from 0 to one hour with 2 significant digits, so
/// every reported value (percentiles, min, max, mean) is within 1 % of the true one, with 64-bit counts.
/// </summary>
/// <remarks>
/// Calls are recorded from many threads at once into a <see cref="Recorder"/> (wait-free recording; each interval
/// histogram it hands out holds every value recorded since the previous one, exactly once); the collector adds the
/// intervals into a single-threaded histogram for the totals.
/// </remarks>
public static class Latencies
{
    /// <summary>The longest latency kept, one hour in microseconds; longer ones are recorded as this.</summary>
    public const long HighestTrackableMicroseconds = 3_600_000_000L;

    /// <summary>Decimal digits of precision: a value is kept within 10^-2 of itself.</summary>
    public const int SignificantDigits = 2;

    /// <summary>A recorder for many threads at once, read by interval with <see cref="Recorder.GetIntervalHistogram()"/>.</summary>
    public static Recorder CreateRecorder() =>
        HistogramFactory.With64BitBucketSize()
            .WithValuesFrom(1)
            .WithValuesUpTo(HighestTrackableMicroseconds)
            .WithPrecisionOf(SignificantDigits)
            .WithThreadSafeWrites()
            .WithThreadSafeReads()
            .Create();

    /// <summary>A histogram for one thread, such as totals that intervals are added into.</summary>
    public static HistogramBase CreateHistogram() => new LongHistogram(HighestTrackableMicroseconds, SignificantDigits);

    /// <summary>Records a latency in microseconds; a negative one counts as 0, one above an hour as an hour.</summary>
    /// <remarks>HdrHistogram throws for a value beyond its range; a stalled call must not crash the harness.</remarks>
    public static void RecordMicroseconds(this IRecorder recorder, long microseconds)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        recorder.RecordValue(Math.Clamp(microseconds, 0, HighestTrackableMicroseconds));
    }

    /// <summary>
    /// Count, min, mean, percentiles and max of a histogram nobody records into while it is read (an interval
    /// histogram or a copy). Percentiles and max are the highest value equivalent to the recorded ones, so a latency
    /// target checked against them errs on the safe side; min is the lowest. All zero when empty.
    /// </summary>
    public static LatencySummary Summarize(this HistogramBase histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        if (histogram.TotalCount == 0)
        {
            return LatencySummary.Empty;
        }

        return new LatencySummary(
            histogram.TotalCount,
            histogram.LowestEquivalentValue(histogram.RecordedValues().First().ValueIteratedTo),
            histogram.GetMean(),
            histogram.GetValueAtPercentile(50),
            histogram.GetValueAtPercentile(75),
            histogram.GetValueAtPercentile(90),
            histogram.GetValueAtPercentile(95),
            histogram.GetValueAtPercentile(99),
            histogram.GetValueAtPercentile(99.9),
            histogram.GetMaxValue());
    }

    /// <summary>Every occupied sub-bucket as (lowest equivalent value, count), in ascending order: the report's histogram.</summary>
    public static IEnumerable<HistogramBucket> Buckets(this HistogramBase histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        return histogram.RecordedValues()
            .Select(v => new HistogramBucket(histogram.LowestEquivalentValue(v.ValueIteratedTo), v.CountAtValueIteratedTo));
    }
}
