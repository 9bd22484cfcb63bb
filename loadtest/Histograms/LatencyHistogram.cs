using System.Numerics;

namespace Vehicles.LoadTest;

/// <summary>
/// A log-linear latency histogram in the manner of HdrHistogram: values fall into power-of-two buckets, each split
/// into linear sub-buckets, so every recorded value is kept with a bounded relative error over the whole range.
/// </summary>
/// <remarks>
/// <para>
/// Values are unit-less longs; the harness records microseconds. With the default settings (2 significant digits,
/// highest trackable value one hour in microseconds) a reported value differs from the true one by less than 1 %,
/// and the counts occupy about 26 KB.
/// </para>
/// <para>
/// Recording is lock-free and allocation-free: one <see cref="Interlocked.Increment(ref long)"/> on the value's
/// counter, plus a compare-and-swap only when a new minimum or maximum is seen. Any number of threads may record
/// at once. There is deliberately no shared total-count or sum counter, which every recorder would contend on:
/// totals are computed when the histogram is read, which happens about once a second.
/// </para>
/// <para>
/// Reads (<see cref="ValueAtPercentile"/>, <see cref="TotalCount"/>, …) are exact when no thread is recording and
/// otherwise see each recording either entirely or not at all per counter. Use <see cref="SnapshotAndReset"/> to take
/// per-interval histograms while recorders keep running: every recording lands in exactly one interval.
/// </para>
/// </remarks>
public sealed class LatencyHistogram
{
    private readonly long[] _counts;
    private readonly int _subBucketHalfCountMagnitude;
    private readonly int _subBucketHalfCount;
    private readonly long _subBucketMask;
    private readonly int _leadingZeroCountBase;
    private long _min = long.MaxValue;
    private long _max;

    /// <summary>Creates a histogram tracking values from 0 to one hour in microseconds with 2 significant digits.</summary>
    public LatencyHistogram()
        : this(DefaultHighestTrackableValue, DefaultSignificantDigits)
    {
    }

    /// <summary>Creates a histogram.</summary>
    /// <param name="highestTrackableValue">The largest value kept exactly; larger values are clamped to it. At least 2.</param>
    /// <param name="significantDigits">Decimal digits of precision, 1 to 5: the relative error is below 10^-digits.</param>
    public LatencyHistogram(long highestTrackableValue, int significantDigits = DefaultSignificantDigits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(highestTrackableValue, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(significantDigits, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(significantDigits, 5);

        HighestTrackableValue = highestTrackableValue;
        SignificantDigits = significantDigits;

        // Twice 10^digits sub-buckets, so that the upper half of every bucket, whose width is the widest relative
        // to its values, still resolves 1 part in 10^digits.
        var largestValueWithSingleUnitResolution = 2 * (long)Math.Pow(10, significantDigits);
        var subBucketCountMagnitude = (int)Math.Ceiling(Math.Log2(largestValueWithSingleUnitResolution));
        _subBucketHalfCountMagnitude = subBucketCountMagnitude - 1;
        var subBucketCount = 1 << subBucketCountMagnitude;
        _subBucketHalfCount = subBucketCount / 2;
        _subBucketMask = subBucketCount - 1;
        _leadingZeroCountBase = 64 - _subBucketHalfCountMagnitude - 1;

        var bucketCount = 1;
        long smallestUntrackableValue = subBucketCount;
        while (smallestUntrackableValue <= highestTrackableValue)
        {
            if (smallestUntrackableValue > long.MaxValue / 2)
            {
                bucketCount++;
                break;
            }

            smallestUntrackableValue <<= 1;
            bucketCount++;
        }

        _counts = new long[(bucketCount + 1) * _subBucketHalfCount];
    }

    /// <summary>Default precision: 2 significant digits (relative error below 1 %).</summary>
    public const int DefaultSignificantDigits = 2;

    /// <summary>Default range: one hour in microseconds.</summary>
    public const long DefaultHighestTrackableValue = 3_600_000_000L;

    /// <summary>The largest value kept exactly; larger ones are recorded as this value.</summary>
    public long HighestTrackableValue { get; }

    /// <summary>Decimal digits of precision.</summary>
    public int SignificantDigits { get; }

    /// <summary>Number of recorded values.</summary>
    public long TotalCount
    {
        get
        {
            long total = 0;
            for (var i = 0; i < _counts.Length; i++)
            {
                total += Volatile.Read(ref _counts[i]);
            }

            return total;
        }
    }

    /// <summary>The smallest recorded value, or 0 when nothing was recorded.</summary>
    public long Min
    {
        get
        {
            var min = Volatile.Read(ref _min);
            return min == long.MaxValue ? 0 : min;
        }
    }

    /// <summary>The largest recorded value (after clamping to <see cref="HighestTrackableValue"/>), or 0.</summary>
    public long Max => Volatile.Read(ref _max);

    /// <summary>The mean of the recorded values, each taken at the middle of its sub-bucket; 0 when empty.</summary>
    public double Mean
    {
        get
        {
            double sum = 0;
            long count = 0;
            for (var i = 0; i < _counts.Length; i++)
            {
                var c = Volatile.Read(ref _counts[i]);
                if (c != 0)
                {
                    sum += c * (double)MedianEquivalentValue(ValueFromIndex(i));
                    count += c;
                }
            }

            return count == 0 ? 0 : sum / count;
        }
    }

    /// <summary>Records one value. Negative values count as 0; values above the range are clamped.</summary>
    public void Record(long value) => RecordCount(value, 1);

    /// <summary>Records a value <paramref name="count"/> times.</summary>
    public void RecordCount(long value, long count)
    {
        if (count <= 0)
        {
            return;
        }

        value = Math.Clamp(value, 0, HighestTrackableValue);
        Interlocked.Add(ref _counts[IndexOf(value)], count);
        if (value < Volatile.Read(ref _min))
        {
            UpdateMin(value);
        }

        if (value > Volatile.Read(ref _max))
        {
            UpdateMax(value);
        }
    }

    /// <summary>
    /// The value at or below which <paramref name="percentile"/> percent of the recorded values fall, reported as the
    /// highest value equivalent to it (so a latency target checked against it errs on the safe side), never above
    /// <see cref="Max"/> nor below <see cref="Min"/>. Returns 0 when empty.
    /// </summary>
    /// <param name="percentile">0 to 100, for example 99.9.</param>
    public long ValueAtPercentile(double percentile)
    {
        var counts = CopyCounts(out var total);
        if (total == 0)
        {
            return 0;
        }

        return PercentileOf(counts, total, percentile);
    }

    /// <summary>Summarises the histogram (count, min, mean, percentiles, max) from one consistent read.</summary>
    public LatencySummary Summarize()
    {
        var counts = CopyCounts(out var total);
        if (total == 0)
        {
            return LatencySummary.Empty;
        }

        double sum = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] != 0)
            {
                sum += counts[i] * (double)MedianEquivalentValue(ValueFromIndex(i));
            }
        }

        return new LatencySummary(
            total,
            Min,
            sum / total,
            PercentileOf(counts, total, 50),
            PercentileOf(counts, total, 75),
            PercentileOf(counts, total, 90),
            PercentileOf(counts, total, 95),
            PercentileOf(counts, total, 99),
            PercentileOf(counts, total, 99.9),
            Max);
    }

    /// <summary>Adds every value recorded in <paramref name="other"/> to this histogram.</summary>
    /// <exception cref="ArgumentException">The histograms differ in range or precision.</exception>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._counts.Length != _counts.Length || other.SignificantDigits != SignificantDigits)
        {
            throw new ArgumentException("Histograms of different range or precision cannot be merged.", nameof(other));
        }

        for (var i = 0; i < _counts.Length; i++)
        {
            var c = Volatile.Read(ref other._counts[i]);
            if (c != 0)
            {
                Interlocked.Add(ref _counts[i], c);
            }
        }

        var otherMin = Volatile.Read(ref other._min);
        if (otherMin < Volatile.Read(ref _min))
        {
            UpdateMin(otherMin);
        }

        var otherMax = Volatile.Read(ref other._max);
        if (otherMax > Volatile.Read(ref _max))
        {
            UpdateMax(otherMax);
        }
    }

    /// <summary>Returns an independent copy of this histogram.</summary>
    public LatencyHistogram Copy()
    {
        var copy = new LatencyHistogram(HighestTrackableValue, SignificantDigits);
        copy.Add(this);
        return copy;
    }

    /// <summary>Clears all recorded values. Not atomic with respect to concurrent recorders; see <see cref="SnapshotAndReset"/>.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        Volatile.Write(ref _min, long.MaxValue);
        Volatile.Write(ref _max, 0);
    }

    /// <summary>
    /// Moves everything recorded so far into a new histogram and leaves this one empty, while other threads keep
    /// recording: each counter is taken with an atomic exchange, so every recording is counted in exactly one of
    /// the snapshots. The snapshot's minimum and maximum are exact unless a recording raced with the exchange, in
    /// which case they are the bounds of the snapshot's lowest and highest occupied sub-buckets.
    /// </summary>
    public LatencyHistogram SnapshotAndReset()
    {
        var snapshot = new LatencyHistogram(HighestTrackableValue, SignificantDigits);
        var min = Interlocked.Exchange(ref _min, long.MaxValue);
        var max = Interlocked.Exchange(ref _max, 0);
        int lowest = -1, highest = -1;
        for (var i = 0; i < _counts.Length; i++)
        {
            if (Volatile.Read(ref _counts[i]) == 0)
            {
                continue;
            }

            var c = Interlocked.Exchange(ref _counts[i], 0);
            if (c != 0)
            {
                snapshot._counts[i] = c;
                lowest = lowest < 0 ? i : lowest;
                highest = i;
            }
        }

        if (lowest >= 0)
        {
            var lowValue = ValueFromIndex(lowest);
            var highValue = ValueFromIndex(highest);
            snapshot._min = min >= lowValue && min <= HighestEquivalentValue(lowValue) ? min : lowValue;
            snapshot._max = max >= highValue && max <= HighestEquivalentValue(highValue)
                ? max
                : Math.Min(HighestEquivalentValue(highValue), HighestTrackableValue);
        }

        return snapshot;
    }

    /// <summary>Every occupied sub-bucket as (lowest equivalent value, count), in ascending order.</summary>
    public IEnumerable<HistogramBucket> Buckets()
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            var c = Volatile.Read(ref _counts[i]);
            if (c != 0)
            {
                yield return new HistogramBucket(ValueFromIndex(i), c);
            }
        }
    }

    /// <summary>The smallest value that lands in the same sub-bucket as <paramref name="value"/>.</summary>
    public long LowestEquivalentValue(long value) => ValueFromIndex(IndexOf(Math.Clamp(value, 0, HighestTrackableValue)));

    /// <summary>The largest value that lands in the same sub-bucket as <paramref name="value"/>.</summary>
    public long HighestEquivalentValue(long value)
    {
        var lowest = LowestEquivalentValue(value);
        return lowest + SubBucketWidth(lowest) - 1;
    }

    private long MedianEquivalentValue(long lowest) => lowest + (SubBucketWidth(lowest) >> 1);

    private long SubBucketWidth(long lowest)
    {
        var bucketIndex = BucketIndexOf(lowest);
        return 1L << bucketIndex;
    }

    private long PercentileOf(long[] counts, long total, double percentile)
    {
        var p = Math.Clamp(percentile, 0, 100);
        // The rank of the value at the percentile, 1-based: at least the first value, at most the last.
        var rank = Math.Max(1, (long)Math.Ceiling(p / 100 * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                var value = HighestEquivalentValue(ValueFromIndex(i));
                return Math.Clamp(value, Min, Math.Max(Min, Max));
            }
        }

        return Max;
    }

    private long[] CopyCounts(out long total)
    {
        var copy = new long[_counts.Length];
        total = 0;
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _counts[i]);
            total += copy[i];
        }

        return copy;
    }

    private int BucketIndexOf(long value) =>
        _leadingZeroCountBase - BitOperations.LeadingZeroCount((ulong)(value | _subBucketMask));

    private int IndexOf(long value)
    {
        var bucketIndex = BucketIndexOf(value);
        var subBucketIndex = (int)(value >> bucketIndex);
        return ((bucketIndex + 1) << _subBucketHalfCountMagnitude) + (subBucketIndex - _subBucketHalfCount);
    }

    private long ValueFromIndex(int index)
    {
        var bucketIndex = (index >> _subBucketHalfCountMagnitude) - 1;
        var subBucketIndex = (index & (_subBucketHalfCount - 1)) + _subBucketHalfCount;
        if (bucketIndex < 0)
        {
            subBucketIndex -= _subBucketHalfCount;
            bucketIndex = 0;
        }

        return (long)subBucketIndex << bucketIndex;
    }

    private void UpdateMin(long value)
    {
        var current = Volatile.Read(ref _min);
        while (value < current)
        {
            var seen = Interlocked.CompareExchange(ref _min, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void UpdateMax(long value)
    {
        var current = Volatile.Read(ref _max);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref _max, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>One occupied sub-bucket of a <see cref="LatencyHistogram"/>.</summary>
/// <param name="Value">The lowest value that falls into the sub-bucket.</param>
/// <param name="Count">How many values were recorded in it.</param>
public readonly record struct HistogramBucket(long Value, long Count);
