namespace Vehicles.LoadTest.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Parse_WithoutArguments_RunsSelftestAtOneHundredPerSecondForThirtySeconds()
    {
        var options = CommandLine.Parse([]);

        Assert.Equal(["selftest"], options.Scenarios);
        var stage = Assert.IsType<ConstantRate>(Assert.Single(options.Model.Stages));
        Assert.Equal(new ConstantRate(100, TimeSpan.FromSeconds(30)), stage);
        Assert.Equal(TimeSpan.Zero, options.Model.WarmUp);
        Assert.Empty(options.Thresholds);
        Assert.Null(options.Live);
    }

    [Fact]
    public void Parse_AllOptions_ReadsEachOne()
    {
        var options = CommandLine.Parse(
        [
            "-s", "selftest,other", "--rate=250", "--ramp-to", "500", "-d", "2m", "-w", "5s", "--max-in-flight", "64",
            "--max-calls", "1000", "--late-after", "2ms", "--drain", "3s", "--target", "http://127.0.0.1:5000",
            "--token", "abc", "-o", "out", "-t", "p99<20ms", "--threshold", "other:rps>=10", "-O", "latency=fixed:1ms",
            "--option", "errors=0.5", "--live", "off",
        ]);

        Assert.Equal(["selftest", "other"], options.Scenarios);
        Assert.Equal(new RampingRate(250, 500, TimeSpan.FromMinutes(2)), Assert.Single(options.Model.Stages));
        Assert.Equal(TimeSpan.FromSeconds(5), options.Model.WarmUp);
        Assert.Equal(
            new SchedulerOptions { MaxInFlight = 64, MaxCalls = 1000, LateAfter = TimeSpan.FromMilliseconds(2), DrainTimeout = TimeSpan.FromSeconds(3) },
            options.Scheduler);
        Assert.Equal(new Uri("http://127.0.0.1:5000"), options.Target);
        Assert.Equal("abc", options.Token);
        Assert.Equal("out", options.Output);
        Assert.Equal(["p99<20ms", "other:rps>=10"], options.Thresholds.Select(t => t.Expression));
        Assert.Equal("fixed:1ms", options.Options["latency"]);
        Assert.Equal("0.5", options.Options["errors"]);
        Assert.False(options.Live);
    }

    [Fact]
    public void Parse_Concurrency_BuildsAClosedModel()
    {
        var options = CommandLine.Parse(["-c", "16", "-d", "10s"]);

        Assert.Equal(new ConstantConcurrency(16, TimeSpan.FromSeconds(10)), Assert.Single(options.Model.Stages));
    }

    [Fact]
    public void Parse_Stages_BuildsTheSequence()
    {
        var options = CommandLine.Parse(["--stages", "rate:100:10s, ramp:100-1000:30s,concurrency:8:1m", "--warmup", "2s"]);

        Assert.Equal(
            new LoadStage[]
            {
                new ConstantRate(100, TimeSpan.FromSeconds(10)),
                new RampingRate(100, 1000, TimeSpan.FromSeconds(30)),
                new ConstantConcurrency(8, TimeSpan.FromMinutes(1)),
            },
            options.Model.Stages);
        Assert.Equal(TimeSpan.FromSeconds(100), options.Model.Duration);
    }

    [Fact]
    public void Parse_TokenFromEnvironment_IsUsedWhenTheOptionIsAbsent()
    {
        Assert.Equal("env-token", CommandLine.Parse([], environmentToken: "env-token").Token);
        Assert.Equal("cli", CommandLine.Parse(["--token", "cli"], environmentToken: "env-token").Token);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--rate")]
    [InlineData("--rate", "fast")]
    [InlineData("--rate", "-5")]
    [InlineData("--rate", "10", "--concurrency", "4")]
    [InlineData("--concurrency", "0")]
    [InlineData("--duration", "forever")]
    [InlineData("--duration", "0s")]
    [InlineData("--stages", "rate:100", "")]
    [InlineData("--stages", "walk:1:1s")]
    [InlineData("--stages", "rate:10:1s", "--rate", "5")]
    [InlineData("--threshold", "p99<<1ms")]
    [InlineData("--threshold", "telemetry:p99<1ms")]
    [InlineData("--target", "not a url")]
    [InlineData("--live", "maybe")]
    [InlineData("--option", "novalue")]
    [InlineData("--duration", "1s", "--duration", "2s")]
    public void Parse_InvalidArguments_ThrowsUsageException(params string[] args)
    {
        Assert.Throws<UsageException>(() => CommandLine.Parse([.. args.Where(a => a.Length > 0)]));
    }

    [Theory]
    [InlineData("250us", 0.25)]
    [InlineData("5ms", 5)]
    [InlineData("1.5s", 1500)]
    [InlineData("2", 2000)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    public void DurationText_Parse_ReadsUnits(string text, double milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds, precision: 9);
    }
}
