namespace Vehicles.LoadTest.Tests;

public sealed class LatencyHistogramTests
{
    private static readonly double[] _percentiles = [0, 1, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

    public static TheoryData<string> Distributions => ["uniform", "exponential", "bimodal", "lognormal"];

    [Theory]
    [MemberData(nameof(Distributions))]
    public void ValueAtPercentile_OnRandomDistribution_IsWithinOnePercentOfExact(string distribution)
    {
        var values = Generate(distribution, 200_000, seed: 42);
        var histogram = new LatencyHistogram();
        foreach (var value in values)
        {
            histogram.Record(value);
        }

        Array.Sort(values);

        foreach (var p in _percentiles)
        {
            var exact = Exact(values, p);
            var reported = histogram.ValueAtPercentile(p);
            Assert.True(reported >= exact, $"{distribution} p{p}: reported {reported} below exact {exact}");
            Assert.True(reported <= exact * 1.01, $"{distribution} p{p}: reported {reported}, exact {exact}");
        }

        Assert.Equal(values.Length, histogram.TotalCount);
        Assert.Equal(values[0], histogram.Min);
        Assert.Equal(values[^1], histogram.Max);
        var exactMean = values.Average(v => (double)v);
        Assert.InRange(histogram.Mean, exactMean * 0.99, exactMean * 1.01);
    }

    [Theory]
    [InlineData(1, 0.1)]
    [InlineData(2, 0.01)]
    [InlineData(3, 0.001)]
    public void ValueAtPercentile_WithSignificantDigits_StaysWithinTheirRelativeError(int digits, double bound)
    {
        var values = Generate("exponential", 50_000, seed: 7);
        var histogram = new LatencyHistogram(LatencyHistogram.DefaultHighestTrackableValue, digits);
        foreach (var value in values)
        {
            histogram.Record(value);
        }

        Array.Sort(values);

        foreach (var p in _percentiles)
        {
            var exact = Exact(values, p);
            Assert.InRange(histogram.ValueAtPercentile(p), exact, exact * (1 + bound));
        }
    }

    [Fact]
    public void Summarize_OnKnownValues_ReportsEachPercentile()
    {
        var histogram = new LatencyHistogram();
        for (var v = 1; v <= 100; v++)
        {
            histogram.Record(v);
        }

        var summary = histogram.Summarize();

        // Values below 256 each have their own sub-bucket, so these are exact.
        Assert.Equal(new LatencySummary(100, 1, 50.5, 50, 75, 90, 95, 99, 100, 100), summary);
    }

    [Fact]
    public void Record_FromOneMicrosecondToOneHour_KeepsTheRelativeError()
    {
        var histogram = new LatencyHistogram();

        foreach (var value in new long[] { 1, 999, 1_000_001, 3_600_000_000 })
        {
            histogram.Reset();
            histogram.Record(value);

            Assert.InRange(histogram.ValueAtPercentile(50), value, value * 1.01);
        }
    }

    [Fact]
    public void Record_AboveTheRange_IsClampedToTheHighestTrackableValue()
    {
        var histogram = new LatencyHistogram(highestTrackableValue: 1_000_000);

        histogram.Record(5_000_000);
        histogram.Record(-3);

        Assert.Equal(2, histogram.TotalCount);
        Assert.Equal(1_000_000, histogram.Max);
        Assert.Equal(0, histogram.Min);
        Assert.Equal(1_000_000, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void Summarize_WhenEmpty_IsAllZero()
    {
        var histogram = new LatencyHistogram();

        Assert.Equal(LatencySummary.Empty, histogram.Summarize());
        Assert.Equal(0, histogram.ValueAtPercentile(99));
        Assert.Equal(0, histogram.Min);
    }

    [Fact]
    public void Add_TwoHistograms_EqualsRecordingAllValuesInOne()
    {
        var first = Generate("exponential", 30_000, seed: 1);
        var second = Generate("bimodal", 30_000, seed: 2);
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        var together = new LatencyHistogram();
        foreach (var v in first)
        {
            a.Record(v);
            together.Record(v);
        }

        foreach (var v in second)
        {
            b.Record(v);
            together.Record(v);
        }

        a.Add(b);

        Assert.Equal(together.Summarize(), a.Summarize());
        Assert.Equal(together.Buckets(), a.Buckets());
        Assert.Equal(30_000, b.TotalCount);
    }

    [Fact]
    public void Add_WithDifferentPrecision_Throws()
    {
        var a = new LatencyHistogram(LatencyHistogram.DefaultHighestTrackableValue, 2);
        var b = new LatencyHistogram(LatencyHistogram.DefaultHighestTrackableValue, 3);

        Assert.Throws<ArgumentException>(() => a.Add(b));
    }

    [Fact]
    public void Record_FromManyThreads_CountsEveryValue()
    {
        var histogram = new LatencyHistogram();
        const int PerThread = 100_000;

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                histogram.Record(1000 + (i % 500));
            }
        });

        Assert.Equal(8 * PerThread, histogram.TotalCount);
        Assert.Equal(1000, histogram.Min);
        Assert.Equal(1499, histogram.Max);
    }

    [Fact]
    public async Task SnapshotAndReset_WhileThreadsRecord_CountsEveryValueInExactlyOneSnapshot()
    {
        var histogram = new LatencyHistogram();
        var total = new LatencyHistogram();
        const int Threads = 4;
        const int PerThread = 200_000;
        var writers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                histogram.Record(i % 10_000);
            }
        })).ToArray();

        var allWritten = Task.WhenAll(writers);
        for (var round = 0; round < 10_000 && !allWritten.IsCompleted; round++)
        {
            total.Add(histogram.SnapshotAndReset());
        }

        await allWritten.WaitAsync(TimeSpan.FromSeconds(60));
        total.Add(histogram.SnapshotAndReset());

        Assert.Equal(Threads * PerThread, total.TotalCount);
        Assert.Equal(0, histogram.TotalCount);
        Assert.Equal(0, total.Min);
        // A recording racing with the exchange leaves the snapshot's max at the top of its sub-bucket: within 1 %.
        Assert.InRange(total.Max, 9999, 9999 * 1.01);
    }

    [Fact]
    public void SnapshotAndReset_WithoutConcurrentRecorders_MovesExactMinAndMax()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1234);
        histogram.Record(987_654);

        var snapshot = histogram.SnapshotAndReset();

        Assert.Equal(1234, snapshot.Min);
        Assert.Equal(987_654, snapshot.Max);
        Assert.Equal(2, snapshot.TotalCount);
        Assert.Equal(LatencySummary.Empty, histogram.Summarize());
    }

    private static long Exact(long[] sorted, double percentile)
    {
        var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100 * sorted.Length));
        return sorted[rank - 1];
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
            values[i] = Math.Clamp((long)micros, 1, LatencyHistogram.DefaultHighestTrackableValue);
        }

        return values;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
