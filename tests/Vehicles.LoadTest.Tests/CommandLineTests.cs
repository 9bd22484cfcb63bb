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
    [InlineData("--bogus", "Unrecognized command or argument '--bogus'.")]
    [InlineData("--rate", "Required argument missing for option: '--rate'.")]
    [InlineData("--duration 1s --duration 2s", "Option '--duration' expects a single argument but 2 were provided.")]
    [InlineData("-s a b", "Unrecognized command or argument 'b'.")]
    [InlineData("--rate fast", "--rate 'fast' must be a number from 0 to 10000000.")]
    [InlineData("--max-in-flight 0", "--max-in-flight '0' must be a number from 1 to 2147483647.")]
    [InlineData("--late-after soon", "--late-after 'soon' is not a duration (e.g. 500ms, 30s, 2m).")]
    [InlineData("--drain 1y", "--drain '1y' is not a duration (e.g. 500ms, 30s, 2m).")]
    [InlineData("--live maybe", "--live takes auto, on or off, not 'maybe'.")]
    [InlineData("--echo-target nope", "--echo-target 'nope' is not an absolute URL.")]
    [InlineData("--share-connections 0", "--share-connections '0' must be a number from 1 to 100000.")]
    public void Parse_InvalidArguments_SayWhatIsWrong(string args, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(args.Split(' ')));

        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("-s", "--scenario", "selftest,other")]
    [InlineData("-O", "--option", "latency=none")]
    [InlineData("-r", "--rate", "7")]
    [InlineData("-c", "--concurrency", "3")]
    [InlineData("-d", "--duration", "5s")]
    [InlineData("-w", "--warmup", "2s")]
    [InlineData("-o", "--output", "folder")]
    [InlineData("-t", "--threshold", "p99<1ms")]
    public void Parse_ShortName_MeansTheSameAsTheLongOne(string shortName, string longName, string value)
    {
        var viaShort = Describe(CommandLine.Parse([shortName, value]));
        var viaLong = Describe(CommandLine.Parse([longName, value]));
        var viaInline = Describe(CommandLine.Parse([longName + "=" + value]));

        Assert.Equal(viaLong, viaShort);
        Assert.Equal(viaLong, viaInline);
        Assert.NotEqual(Describe(CommandLine.Parse([])), viaLong);
    }

    [Fact]
    public void Parse_EachOption_LandsInItsOwnField()
    {
        var options = CommandLine.Parse(
        [
            "--max-in-flight", "11", "--max-calls", "12", "--late-after", "13ms", "--drain", "14s", "--share-connections", "15",
            "--token", "vehicle", "--operator-token", "operator", "--signing-key", "key", "--echo-target", "http://127.0.0.1:16",
            "-o", "out", "--live", "on", "-w", "17s", "-d", "18s", "-c", "19",
        ]);

        Assert.Equal(
            new SchedulerOptions { MaxInFlight = 11, MaxCalls = 12, LateAfter = TimeSpan.FromMilliseconds(13), DrainTimeout = TimeSpan.FromSeconds(14) },
            options.Scheduler);
        Assert.Equal(new ApiSettings { ShareConnections = 15, OperatorToken = "operator", SigningKey = "key", EchoTarget = new Uri("http://127.0.0.1:16") }, options.Api);
        Assert.Equal("vehicle", options.Token);
        Assert.Equal("out", options.Output);
        Assert.True(options.Live);
        Assert.Equal(TimeSpan.FromSeconds(17), options.Model.WarmUp);
        Assert.Equal(new ConstantConcurrency(19, TimeSpan.FromSeconds(18)), Assert.Single(options.Model.Stages));
        Assert.False(options.Embedded);
        Assert.False(options.Help);
        Assert.False(options.List);
    }

    [Theory]
    [InlineData("--help", true, false)]
    [InlineData("-h", true, false)]
    [InlineData("-?", true, false)]
    [InlineData("--list", false, true)]
    public void Parse_HelpAndList_AskForThemAlone(string arg, bool help, bool list)
    {
        var options = CommandLine.Parse([arg]);

        Assert.Equal(help, options.Help);
        Assert.Equal(list, options.List);
    }

    [Fact]
    public void Parse_ValueStartingWithAt_IsAValueNotAResponseFile()
    {
        Assert.Equal("@folder", CommandLine.Parse(["-o", "@folder"]).Output);
    }

    [Fact]
    public void HelpText_ShowsEveryOptionWithItsShortNameAndTheExitCodes()
    {
        var help = CommandLine.HelpText;

        foreach (var option in new[]
        {
            "-s, --scenario <name>", "--list", "-O, --option <key=value>", "-r, --rate <n>", "--ramp-to <n>", "-c, --concurrency <n>",
            "--stages <list>", "-d, --duration <time>", "-w, --warmup <time>", "--max-in-flight <n>", "--max-calls <n>",
            "--late-after <time>", "--drain <time>", "--target <url[,url]>", "--token <jwt>", "--operator-token <jwt>",
            "--signing-key <base64>", "--embedded", "--share-connections <n>", "--echo-target <url>", "-o, --output <folder>",
            "-t, --threshold <expr>", "--live <auto|on|off>", "-h, --help",
        })
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }

        Assert.Contains("Exit codes: 0 every threshold passed, 2 a threshold failed, 1 usage error or crash.", help, StringComparison.Ordinal);
        Assert.DoesNotContain("--version", help, StringComparison.Ordinal);
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

    private static string Describe(CommandLineOptions options) => string.Join(
        " | ",
        string.Join(",", options.Scenarios),
        options.Model.ToString(),
        string.Join(",", options.Options.Select(o => o.Key + "=" + o.Value)),
        options.Output ?? "-",
        string.Join(",", options.Thresholds.Select(t => t.Expression)));
}
