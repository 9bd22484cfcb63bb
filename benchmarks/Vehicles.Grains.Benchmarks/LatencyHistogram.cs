using System.Numerics;

namespace Vehicles.Grains.Benchmarks;

/// <summary>
/// A lock-free latency histogram: buckets by powers of two of microseconds, each split in 16, so a
/// percentile is within about 6 % (the one of the deleted Vehicles.Persistence.Benchmarks, unchanged, so that percentiles compare).
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBuckets = 16;
    private readonly long[] _counts = new long[64 * SubBuckets];
    private long _maxTicks;

    public TimeSpan Max => TimeSpan.FromTicks(Interlocked.Read(ref _maxTicks));

    public void Record(TimeSpan latency)
    {
        Interlocked.Increment(ref _counts[Index(latency)]);
        var ticks = latency.Ticks;
        var max = Interlocked.Read(ref _maxTicks);
        while (ticks > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxTicks, ticks, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    public TimeSpan Percentile(double fraction)
    {
        long total = 0;
        foreach (var count in _counts)
        {
            total += count;
        }

        var target = (long)Math.Ceiling(total * fraction);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= target && seen > 0)
            {
                return UpperBound(i);
            }
        }

        return TimeSpan.Zero;
    }

    private static int Index(TimeSpan latency)
    {
        var micros = (ulong)Math.Max(1, latency.Ticks / 10);
        var power = 63 - BitOperations.LeadingZeroCount(micros);
        var sub = power >= 4 ? (int)((micros >> (power - 4)) & (SubBuckets - 1)) : (int)(micros & (SubBuckets - 1));
        return (power * SubBuckets) + sub;
    }

    private static TimeSpan UpperBound(int index)
    {
        var power = index / SubBuckets;
        var sub = index % SubBuckets;
        var micros = power >= 4 ? ((1UL << power) + ((ulong)(sub + 1) << (power - 4))) : (ulong)(sub + 1);
        return TimeSpan.FromTicks((long)micros * 10);
    }
}
