namespace Vehicles.LoadTest.Tests;

public sealed class LoadTestAppTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vehicles-loadtest-tests", Guid.NewGuid().ToString("N"));
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        _output.Dispose();
        _error.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task Run_WhenEveryThresholdPasses_ExitsZeroAndWritesTheReports()
    {
        var exit = await RunAsync("--rate", "200", "-d", "1s", "-w", "200ms", "-O", "latency=none", "--token", "secret-token-42",
            "-t", "p99<10s", "-t", "error_rate<1%", "-t", "requests==200", "-t", "selftest:discrepancies==0");

        Assert.Equal(LoadTestApp.ExitPassed, exit);
        Assert.Equal("", _error.ToString());
        Assert.Contains("PASSED", _output.ToString(), StringComparison.Ordinal);
        var report = await ReportWriter.ReadJsonAsync(Path.Combine(_folder, "report.json"));
        Assert.Equal(200, report.Global.Requests);
        Assert.Equal(40, report.Global.WarmUpCalls);
        Assert.Equal(4, report.Thresholds.Count);
        Assert.Equal("none", report.Settings!["option:latency"]);
        Assert.Equal("10000", report.Settings["max-in-flight"]);
        Assert.All(report.Thresholds, t => Assert.True(t.Passed, t.Expression));
        Assert.True(File.Exists(Path.Combine(_folder, "report.html")));
        Assert.True(File.Exists(Path.Combine(_folder, "report.md")));
        Assert.True(File.Exists(Path.Combine(_folder, "timeseries.csv")));
        foreach (var file in Directory.GetFiles(_folder))
        {
            Assert.DoesNotContain("secret-token-42", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Run_WhenAThresholdFails_ExitsTwoAndReportsIt()
    {
        var exit = await RunAsync("--rate", "100", "-d", "500ms", "-O", "latency=none",
            "-t", "rps>=1000000", "-t", "p99<10s");

        Assert.Equal(LoadTestApp.ExitThresholdFailed, exit);
        Assert.Contains("threshold rps>=1000000: FAIL", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("threshold p99<10s: pass", _output.ToString(), StringComparison.Ordinal);
        var markdown = await File.ReadAllTextAsync(Path.Combine(_folder, "report.md"));
        Assert.Contains("| `rps>=1000000` | all |", markdown, StringComparison.Ordinal);
        Assert.Contains("**FAIL**", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WithErrorsAndDiscrepancies_FailsTheirThresholds()
    {
        var exit = await RunAsync("--concurrency", "2", "--max-calls", "400", "-d", "30s", "-O", "latency=none",
            "-O", "errors=1", "-O", "error-status=UNAVAILABLE", "-O", "discrepancies=3", "-t", "discrepancies==0");

        Assert.Equal(LoadTestApp.ExitThresholdFailed, exit);
        var report = await ReportWriter.ReadJsonAsync(Path.Combine(_folder, "report.json"));
        Assert.Equal(400, report.Global.Requests);
        Assert.Equal(400, report.Global.Errors["UNAVAILABLE"]);
        Assert.Equal(1.0, report.Global.ErrorRate);
        Assert.Equal(3, report.Global.Discrepancies);
        Assert.Equal(3, report.Scenarios[0].Discrepancies.Count);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--rate", "abc")]
    [InlineData("-t", "p99<")]
    [InlineData("-s", "nosuchscenario")]
    [InlineData("-O", "latency=sometimes", "-d", "100ms")]
    public async Task Run_WithABadOption_ExitsOne(params string[] args)
    {
        var exit = await RunAsync(args);

        Assert.Equal(LoadTestApp.ExitError, exit);
        Assert.StartsWith("error:", _error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder, "report.json")));
    }

    [Fact]
    public async Task Run_WithHelp_PrintsTheOptionsAndExitsZero()
    {
        var exit = await LoadTestApp.RunAsync(["--help"], _output, _error, CancellationToken.None);

        Assert.Equal(LoadTestApp.ExitPassed, exit);
        Assert.Contains("--threshold", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("Exit codes", _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WithList_PrintsTheScenarios()
    {
        var exit = await LoadTestApp.RunAsync(["--list"], _output, _error, CancellationToken.None);

        Assert.Equal(LoadTestApp.ExitPassed, exit);
        var names = _output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]);
        Assert.Equal(["commands", "echo", "mixed", "reconnect-storm", "selftest", "soak", "telemetry", "watch"], names);
    }

    [Fact]
    public async Task Run_WhenRedirected_PrintsPlainProgressLines()
    {
        await RunAsync("--rate", "50", "-d", "1.5s", "-O", "latency=fixed:1ms");

        var lines = _output.ToString().Split('\n').Where(l => l.StartsWith('[')).ToArray();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Contains(" selftest rps ", l, StringComparison.Ordinal));
    }

    private Task<int> RunAsync(params string[] args) =>
        LoadTestApp.RunAsync([.. args, "-o", _folder, "--live", "off"], _output, _error, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(60));
}
