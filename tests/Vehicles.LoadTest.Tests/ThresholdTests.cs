namespace Vehicles.LoadTest.Tests;

public sealed class ThresholdTests
{
    [Theory]
    [InlineData("p99<20ms", "all", "p99", ThresholdOperator.LessThan, 20)]
    [InlineData("p50<=5ms", "all", "p50", ThresholdOperator.LessThanOrEqual, 5)]
    [InlineData("p99.9 < 1.5s", "all", "p99.9", ThresholdOperator.LessThan, 1500)]
    [InlineData("p999<250us", "all", "p99.9", ThresholdOperator.LessThan, 0.25)]
    [InlineData("max<40", "all", "max", ThresholdOperator.LessThan, 40)]
    [InlineData("error_rate<0.1%", "all", "error_rate", ThresholdOperator.LessThan, 0.001)]
    [InlineData("error_rate<0.02", "all", "error_rate", ThresholdOperator.LessThan, 0.02)]
    [InlineData("rps>=1000", "all", "rps", ThresholdOperator.GreaterThanOrEqual, 1000)]
    [InlineData("telemetry:p95>1ms", "telemetry", "p95", ThresholdOperator.GreaterThan, 1)]
    [InlineData("commands:discrepancies==0", "commands", "discrepancies", ThresholdOperator.Equal, 0)]
    [InlineData("RPS>=10", "all", "rps", ThresholdOperator.GreaterThanOrEqual, 10)]
    public void Parse_ValidExpression_ReadsScopeMetricOperatorAndLimit(
        string text, string scope, string metric, ThresholdOperator op, double limit)
    {
        var threshold = Threshold.Parse(text);

        Assert.Equal(scope, threshold.Scope);
        Assert.Equal(metric, threshold.Metric);
        Assert.Equal(op, threshold.Operator);
        Assert.Equal(limit, threshold.Limit, precision: 12);
    }

    [Theory]
    [InlineData("")]
    [InlineData("p99")]
    [InlineData("p99<")]
    [InlineData("p99<<20ms")]
    [InlineData("p98<20ms")]
    [InlineData("latency<20ms")]
    [InlineData("p99<20kg")]
    [InlineData("rps>=10ms")]
    [InlineData("error_rate<1ms")]
    [InlineData("p99<-1ms")]
    public void Parse_InvalidExpression_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => Threshold.Parse(text));
    }

    [Theory]
    [InlineData("p99<20ms", true)]
    [InlineData("p99<19.5ms", false)]
    [InlineData("p99<=19.6ms", true)]
    [InlineData("p50<1", false)]
    [InlineData("p50<5", true)]
    [InlineData("max<=100ms", true)]
    [InlineData("error_rate<1%", true)]
    [InlineData("error_rate<0.5%", false)]
    [InlineData("rps>=1000", true)]
    [InlineData("rps>1000", false)]
    [InlineData("discrepancies==0", false)]
    [InlineData("selftest:discrepancies==2", true)]
    [InlineData("other:p99<1s", false)]
    [InlineData("dropped==0", true)]
    public void Evaluate_AgainstTotals_PassesOnlyWhenTheComparisonHolds(string text, bool expected)
    {
        var report = ReportTests.SampleReport();

        var result = Threshold.Parse(text).Evaluate(report);

        Assert.Equal(expected, result.Passed);
    }

    [Fact]
    public void Evaluate_ReportsTheActualValueInTheThresholdUnit()
    {
        var report = ReportTests.SampleReport();

        var latency = Threshold.Parse("p99<1s").Evaluate(report);
        var errors = Threshold.Parse("error_rate<1%").Evaluate(report);

        Assert.Equal(new ThresholdResult("p99<1s", "all", 19.6, true), latency);
        Assert.Equal(new ThresholdResult("error_rate<1%", "all", 0.006, true), errors);
    }

    [Fact]
    public void Evaluate_LatencyWithoutSuccessfulCalls_Fails()
    {
        var report = ReportTests.SampleReport() with
        {
            Global = ReportTests.SampleReport().Global with { Latency = LatencyMs.From(LatencySummary.Empty) },
        };

        var result = Threshold.Parse("p99<1s").Evaluate(report);

        Assert.False(result.Passed);
        Assert.Null(result.Actual);
        Assert.NotNull(result.Message);
    }
}
