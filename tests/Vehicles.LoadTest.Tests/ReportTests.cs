namespace Vehicles.LoadTest.Tests;

public sealed class ReportTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vehicles-loadtest-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task WriteAll_WritesMarkdownHtmlCsvAndJson()
    {
        var report = SampleReport();

        var paths = await ReportWriter.WriteAllAsync(report, _folder);

        Assert.Equal(["report.md", "report.html", "timeseries.csv", "report.json"], paths.Select(Path.GetFileName));
        Assert.All(paths, path => Assert.True(new FileInfo(path).Length > 0, path));
    }

    [Fact]
    public async Task Json_RoundTripsEveryNumber()
    {
        var report = SampleReport();
        await ReportWriter.WriteAllAsync(report, _folder);

        var read = await ReportWriter.ReadJsonAsync(Path.Combine(_folder, "report.json"));

        Assert.Equal(report.Tool, read.Tool);
        Assert.Equal(report.StartedAt, read.StartedAt);
        Assert.Equal(report.DurationSeconds, read.DurationSeconds);
        Assert.Equal(report.Target, read.Target);
        Assert.Equal(report.Global with { Errors = read.Global.Errors }, read.Global);
        Assert.Equal(report.Global.Errors, read.Global.Errors);
        Assert.Equal(report.Thresholds, read.Thresholds);
        Assert.Equal(report.Settings, read.Settings);
        var scenario = Assert.Single(read.Scenarios);
        var expected = report.Scenarios[0];
        Assert.Equal(expected.Totals.Latency, scenario.Totals.Latency);
        Assert.Equal(expected.Totals.Errors, scenario.Totals.Errors);
        Assert.Equal(expected.Discrepancies, scenario.Discrepancies);
        Assert.Equal(expected.Histogram, scenario.Histogram);
        Assert.Equal(expected.TimeSeries.Count, scenario.TimeSeries.Count);
        for (var i = 0; i < expected.TimeSeries.Count; i++)
        {
            var (e, a) = (expected.TimeSeries[i], scenario.TimeSeries[i]);
            Assert.Equal(e with { Errors = a.Errors, Gauges = a.Gauges }, a);
            Assert.Equal(e.Errors, a.Errors);
            Assert.Equal(e.Gauges, a.Gauges);
        }
    }

    [Fact]
    public void Html_IsSelfContained()
    {
        var withTarget = HtmlReport.Render(SampleReport());
        var withoutTarget = HtmlReport.Render(SampleReport() with { Target = null });

        foreach (var reference in new[] { "src=", "href=", "<script", "<link", "url(", "@import", "<iframe", "<img", "xlink", "cdn" })
        {
            Assert.DoesNotContain(reference, withTarget, StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotContain("http", withoutTarget, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("//", withoutTarget, StringComparison.Ordinal);
        Assert.Contains("<svg", withTarget, StringComparison.Ordinal);
        Assert.Contains("Latency percentiles over time", withTarget, StringComparison.Ordinal);
        Assert.Contains("Throughput over time", withTarget, StringComparison.Ordinal);
        Assert.Contains("<polyline", withTarget, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_EscapesScenarioText()
    {
        var report = SampleReport();
        var scenario = report.Scenarios[0] with { Discrepancies = [new Discrepancy("kind", "<script>alert(1)</script>", 1)] };

        var html = HtmlReport.Render(report with { Scenarios = [scenario] });

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_HasAHeaderAndOneRowPerInterval()
    {
        var report = SampleReport();

        var lines = CsvReport.Render(report).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(CsvReport.Header, lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.Equal("selftest,2,1,500,497,3,500,1.2,2.5,4,5.1,9.8,15,20,1.5,0,0,1,4,UNAVAILABLE=3,connected=12", lines[2]);
    }

    [Fact]
    public void Markdown_ListsThresholdsWithPassAndFail()
    {
        var report = SampleReport() with
        {
            Thresholds = [new ThresholdResult("p99<20ms", "all", 19.6, true), new ThresholdResult("rps>=2000", "all", 1000, false)],
        };

        var markdown = MarkdownReport.Render(report);

        Assert.StartsWith("# Load test report: FAILED", markdown, StringComparison.Ordinal);
        Assert.Contains("| `p99<20ms` | all | 19.6 | pass |", markdown, StringComparison.Ordinal);
        Assert.Contains("| `rps>=2000` | all | 1000 | **FAIL** |", markdown, StringComparison.Ordinal);
        Assert.Contains("synthetic discrepancy", markdown, StringComparison.Ordinal);
    }

    internal static RunReport SampleReport()
    {
        var histogram = Latencies.CreateHistogram();
        histogram.RecordValueWithCount(1200, 990);
        histogram.RecordValueWithCount(19_600, 4);
        var totals = new ScenarioTotals(
            Requests: 1000,
            Ok: 994,
            Failed: 6,
            ErrorRate: 0.006,
            Rps: 1000,
            MeasuredSeconds: 1.0,
            Latency: new LatencyMs(994, 1.2, 1.31, 1.2, 1.2, 1.2, 1.2, 19.6, 19.6, 19.6),
            Errors: new Dictionary<string, long> { ["UNAVAILABLE"] = 4, ["DEADLINE_EXCEEDED"] = 2 },
            WarmUpCalls: 100,
            Dropped: 0,
            Late: 1,
            Abandoned: 0,
            Discrepancies: 2);
        TimeSeriesPoint Point(double t, long failed, string status) => new(
            "selftest", t, 1, 500, 500 - failed, failed, 500,
            new LatencyMs(500 - failed, 0.9, 1.5, 1.2, 2.5, 4, 5.1, 9.8, 15, 20),
            new Dictionary<string, long> { [status] = failed },
            new Dictionary<string, long> { ["connected"] = 12 },
            0, 0, 1, 4);
        var scenario = new ScenarioReport(
            "selftest",
            "rate 1000/s for 00:00:01",
            totals,
            [Point(1, 3, "DEADLINE_EXCEEDED"), Point(2, 3, "UNAVAILABLE")],
            [new Discrepancy("synthetic", "synthetic discrepancy 1", 0.5), new Discrepancy("synthetic", "synthetic discrepancy 2, \"quoted\"", 0.75)],
            [.. histogram.Buckets()]);
        return new RunReport(
            "Vehicles.LoadTest",
            new DateTimeOffset(2026, 11, 22, 3, 0, 0, TimeSpan.Zero),
            2.125,
            "http://127.0.0.1:5000/",
            [scenario],
            totals,
            [new ThresholdResult("p99<20ms", "all", 19.6, true)],
            new Dictionary<string, string> { ["max-in-flight"] = "10000", ["option:latency"] = "exp:2ms" });
    }
}
