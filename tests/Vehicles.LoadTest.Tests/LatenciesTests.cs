namespace Vehicles.LoadTest.Tests;

/// <summary>Our use of HdrHistogram: the range and precision the reports promise, the summary, the recording paths.</summary>
public sealed class LatenciesTests
{
    private static readonly double[] _percentiles = [50, 75, 90, 95, 99, 99.9];

    public static TheoryData<string> Distributions => ["uniform", "exponential", "bimodal", "lognormal"];

    [Fact]
    public void Summarize_OnKnownValues_PutsEachPercentileInItsField()
    {
        var histogram = Latencies.CreateHistogram();
        for (var v = 1; v <= 100; v++)
        {
            histogram.RecordMicroseconds(v);
        }

        var summary = histogram.Summarize();

        // Values below 256 each have their own sub-bucket, so these are exact; each field has a different value.
        Assert.Equal(new LatencySummary(100, 1, 50.5, 50, 75, 90, 95, 99, 100, 100), summary);
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Summarize_OnRandomDistribution_IsWithinOnePercentOfExact(string distribution)
    {
        // 200,000 values: every percentile reported falls on a whole rank, so the exact value is unambiguous.
        var values = Generate(distribution, 200_000, seed: 42);
        var recorder = Latencies.CreateRecorder();
        foreach (var value in values)
        {
            recorder.RecordMicroseconds(value);
        }

        var summary = recorder.GetIntervalHistogram().Summarize();

        Array.Sort(values);
        var reported = new[] { summary.P50, summary.P75, summary.P90, summary.P95, summary.P99, summary.P999 };
        foreach (var (p, value) in _percentiles.Zip(reported))
        {
            var exact = values[(int)(p / 100 * values.Length) - 1];
            Assert.True(value >= exact, $"{distribution} p{p}: reported {value} below exact {exact}");
            Assert.True(value <= exact * 1.01, $"{distribution} p{p}: reported {value}, exact {exact}");
        }

        Assert.Equal(values.Length, summary.Count);
        Assert.InRange(summary.Min, values[0] * 0.99, values[0]);
        Assert.InRange(summary.Max, values[^1], values[^1] * 1.01);
        var exactMean = values.Average(v => (double)v);
        Assert.InRange(summary.Mean, exactMean * 0.99, exactMean * 1.01);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(999)]
    [InlineData(1_000_001)]
    [InlineData(3_600_000_000)]
    public void RecordMicroseconds_FromOneMicrosecondToOneHour_KeepsTheRelativeError(long value)
    {
        var histogram = Latencies.CreateHistogram();

        histogram.RecordMicroseconds(value);

        Assert.InRange(histogram.Summarize().P50, value, value * 1.01);
    }

    [Fact]
    public void RecordMicroseconds_OutsideTheRange_IsClampedInsteadOfThrowing()
    {
        var recorder = Latencies.CreateRecorder();

        recorder.RecordMicroseconds(5 * Latencies.HighestTrackableMicroseconds);
        recorder.RecordMicroseconds(-3);

        var summary = recorder.GetIntervalHistogram().Summarize();
        Assert.Equal(2, summary.Count);
        Assert.Equal(0, summary.Min);
        Assert.InRange(summary.Max, Latencies.HighestTrackableMicroseconds, Latencies.HighestTrackableMicroseconds * 1.01);
    }

    [Fact]
    public void Summarize_WhenEmpty_IsAllZero()
    {
        Assert.Equal(LatencySummary.Empty, Latencies.CreateHistogram().Summarize());
        Assert.Equal(LatencySummary.Empty, Latencies.CreateRecorder().GetIntervalHistogram().Summarize());
    }

    [Fact]
    public void Buckets_AreTheLowestValueOfEachOccupiedSubBucketWithItsCount()
    {
        var histogram = Latencies.CreateHistogram();
        histogram.RecordValueWithCount(1200, 990);
        histogram.RecordValueWithCount(19_600, 4);
        histogram.RecordValueWithCount(19_700, 1);

        var buckets = histogram.Buckets().ToList();

        // 1,024 to 2,047 µs are kept in steps of 8, 16,384 to 32,767 µs in steps of 128.
        Assert.Equal([new HistogramBucket(1200, 990), new HistogramBucket(19_584, 5)], buckets);
    }

    [Fact]
    public async Task ScenarioStats_IntervalsTakenWhileThreadsRecord_HoldEveryCallExactlyOnce()
    {
        var stats = new ScenarioStats("selftest");
        const int Threads = 4;
        const int PerThread = 100_000;
        var writers = Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                stats.Record(StepResult.Ok, i % 10_000);
            }
        })).ToArray();

        var allWritten = Task.WhenAll(writers);
        long ok = 0, latencies = 0;
        for (var round = 0; round < 100_000 && !allWritten.IsCompleted; round++)
        {
            var interval = stats.TakeInterval();
            ok += interval.Ok;
            latencies += interval.Latency.TotalCount;
        }

        await allWritten.WaitAsync(TimeSpan.FromSeconds(60));
        var last = stats.TakeInterval();
        ok += last.Ok;
        latencies += last.Latency.TotalCount;
        var totals = stats.Totals();

        Assert.Equal(Threads * PerThread, ok);
        Assert.Equal(Threads * PerThread, latencies);
        Assert.Equal(Threads * PerThread, totals.Ok);
        var summary = totals.Latency.Summarize();
        Assert.Equal(Threads * PerThread, summary.Count);
        Assert.Equal(0, summary.Min);
        Assert.InRange(summary.Max, 9_999, 9_999 * 1.01);
    }

    [Fact]
    public void ScenarioStats_FailedCalls_AreCountedWithoutALatency()
    {
        var stats = new ScenarioStats("selftest");

        stats.Record(StepResult.Ok, 1500);
        stats.Record(StepResult.Fail("UNAVAILABLE"), 900_000);
        var interval = stats.TakeInterval();

        Assert.Equal(1, interval.Ok);
        Assert.Equal(1, interval.Failed);
        Assert.Equal(new LatencySummary(1, 1496, 1500, 1503, 1503, 1503, 1503, 1503, 1503, 1503), interval.Latency.Summarize());
        Assert.Equal(1, interval.Errors["UNAVAILABLE"]);
    }

    internal static long[] Generate(string distribution, int count, int seed)
    {
        var random = new Random(seed);
        var values = new long[count];
        for (var i = 0; i < count; i++)
        {
            double micros = distribution switch
            {
                "uniform" => 100 + (random.NextDouble() * 50_000),
                "exponential" => -Math.Log(1 - random.NextDouble()) * 2_000,
                "bimodal" => random.NextDouble() < 0.9 ? 800 + (random.NextDouble() * 400) : 40_000 + (random.NextDouble() * 20_000),
                "lognormal" => Math.Exp(7 + (2 * Gaussian(random))),
                _ => throw new ArgumentOutOfRangeException(nameof(distribution)),
            };
            values[i] = Math.Clamp((long)micros, 1, Latencies.HighestTrackableMicroseconds);
        }

        return values;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
