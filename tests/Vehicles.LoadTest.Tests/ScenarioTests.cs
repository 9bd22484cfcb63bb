using Microsoft.Extensions.Time.Testing;

namespace Vehicles.LoadTest.Tests;

public sealed class ScenarioTests
{
    [Fact]
    public void ReportDiscrepancy_BeyondTheCap_CountsButKeepsOnlyTheFirst()
    {
        var clock = new FakeTimeProvider();
        var context = NewContext(clock);

        clock.Advance(TimeSpan.FromMilliseconds(1500));
        for (var i = 0; i < ScenarioContext.MaxKeptDiscrepancies + 25; i++)
        {
            context.ReportDiscrepancy("lost-command", $"command {i}");
        }

        Assert.Equal(ScenarioContext.MaxKeptDiscrepancies + 25, context.DiscrepancyCount);
        Assert.Equal(ScenarioContext.MaxKeptDiscrepancies, context.Discrepancies.Count);
        Assert.Equal(new Discrepancy("lost-command", "command 0", 1.5), context.Discrepancies[0]);
    }

    [Fact]
    public void Gauge_SameName_IsTheSameGauge()
    {
        var context = NewContext(new FakeTimeProvider());

        context.Gauge("connected").Increment();
        context.Gauge("connected").Increment();
        context.Gauge("connected").Decrement();

        Assert.Equal(1, context.Gauges["connected"].Value);
    }

    [Theory]
    [InlineData("none", 0, 0)]
    [InlineData("fixed:3ms", 3, 3)]
    [InlineData("uniform:1ms-5ms", 1, 5)]
    [InlineData("bimodal:1ms,20ms,0.5", 1, 20)]
    [InlineData("exp:2ms", 0, 1000)]
    public void LatencyDistribution_Parse_SamplesWithinItsRange(string text, double minMs, double maxMs)
    {
        var distribution = LatencyDistribution.Parse(text);
        var random = new Random(3);

        var samples = Enumerable.Range(0, 1000).Select(_ => distribution.Sample(random).TotalMilliseconds).ToArray();

        Assert.All(samples, s => Assert.InRange(s, minMs, maxMs));
    }

    [Theory]
    [InlineData("")]
    [InlineData("fixed")]
    [InlineData("fixed:soon")]
    [InlineData("uniform:5ms-1ms")]
    [InlineData("bimodal:1ms,2ms")]
    [InlineData("bimodal:1ms,2ms,1.5")]
    [InlineData("gaussian:1ms")]
    public void LatencyDistribution_ParseInvalid_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => LatencyDistribution.Parse(text));
    }

    [Fact]
    public void FormatLine_ShowsRateLatencyErrorsAndGauges()
    {
        var point = new TimeSeriesPoint(
            "telemetry", 3, 1, 100, 98, 2, 100, new LatencyMs(98, 1, 2, 2.1, 3, 4, 5, 9.75, 12, 15),
            new Dictionary<string, long> { ["UNAVAILABLE"] = 2 }, new Dictionary<string, long> { ["connected"] = 40 }, 0, 0, 0, 3);

        var line = ProgressView.FormatLine(3, point);

        Assert.Equal("[   3.0s] telemetry rps 100.0 p50 2.1ms p99 9.75ms err UNAVAILABLE=2 in-flight 3 connected=40", line);
    }

    private static ScenarioContext NewContext(TimeProvider time) =>
        new("test", LoadModel.Rate(1, TimeSpan.FromSeconds(1)), null, null, new Dictionary<string, string>(), time);
}
