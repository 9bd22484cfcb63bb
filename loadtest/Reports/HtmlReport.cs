using System.Globalization;
using System.Net;
using System.Text;

namespace Vehicles.LoadTest;

/// <summary>
/// Renders a run report as one self-contained HTML page: inline CSS and inline SVG charts (latency percentiles and
/// throughput over time), no scripts, no links, nothing fetched from elsewhere.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body{font-family:system-ui,sans-serif;margin:24px;color:#222}
        table{border-collapse:collapse;margin:8px 0 16px}
        th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
        th:first-child,td:first-child{text-align:left}
        .pass{color:#176f2c;font-weight:600}.fail{color:#b00020;font-weight:600}
        svg{display:block;margin:8px 0 20px;font-size:11px}
        .grid{stroke:#e3e3e3}.tick{fill:#555}.title{font-weight:600;fill:#222;font-size:13px}
        """;

    /// <summary>Renders the report.</summary>
    public static string Render(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Load test report</title><style>")
            .Append(Style).Append("</style></head><body>\n");
        html.Append(CultureInfo.InvariantCulture, $"<h1>Load test report: <span class=\"{(report.Passed ? "pass\">PASSED" : "fail\">FAILED")}</span></h1>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p>Started {E(report.StartedAt.ToString("u", CultureInfo.InvariantCulture))}, ran {report.DurationSeconds:0.###} s, target {E(report.Target ?? "(none)")}.</p>\n");

        html.Append("<h2>Thresholds</h2>\n");
        if (report.Thresholds.Count == 0)
        {
            html.Append("<p>None given.</p>\n");
        }
        else
        {
            html.Append("<table><tr><th>Threshold</th><th>Scope</th><th>Actual</th><th>Result</th></tr>\n");
            foreach (var t in report.Thresholds)
            {
                var actual = t.Actual is { } a ? a.ToString("0.####", CultureInfo.InvariantCulture) : "-";
                var result = t.Passed
                    ? "<span class=\"pass\">pass</span>"
                    : "<span class=\"fail\">FAIL</span>" + (t.Message is null ? "" : " " + E(t.Message));
                html.Append(CultureInfo.InvariantCulture, $"<tr><td><code>{E(t.Expression)}</code></td><td>{E(t.Scope)}</td><td>{actual}</td><td>{result}</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>Totals</h2><p>Warm-up excluded; latency of successful calls in milliseconds.</p>\n<table><tr><th>Scope</th><th>Requests</th><th>OK</th><th>Failed</th><th>Error rate</th><th>RPS</th><th>p50</th><th>p75</th><th>p95</th><th>p99</th><th>p99.9</th><th>Max</th><th>Mean</th><th>Dropped</th><th>Late</th><th>Discrepancies</th></tr>\n");
        foreach (var s in report.Scenarios)
        {
            TotalsRow(html, s.Name, s.Totals);
        }

        if (report.Scenarios.Count > 1)
        {
            TotalsRow(html, "all", report.Global);
        }

        html.Append("</table>\n");
        foreach (var s in report.Scenarios)
        {
            Scenario(html, s);
        }

        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void TotalsRow(StringBuilder html, string name, ScenarioTotals t)
    {
        var l = t.Latency;
        html.Append(CultureInfo.InvariantCulture,
            $"<tr><td>{E(name)}</td><td>{t.Requests}</td><td>{t.Ok}</td><td>{t.Failed}</td><td>{t.ErrorRate * 100:0.###} %</td><td>{t.Rps:0.#}</td><td>{l.P50:0.###}</td><td>{l.P75:0.###}</td><td>{l.P95:0.###}</td><td>{l.P99:0.###}</td><td>{l.P999:0.###}</td><td>{l.Max:0.###}</td><td>{l.Mean:0.###}</td><td>{t.Dropped}</td><td>{t.Late}</td><td>{t.Discrepancies}</td></tr>\n");
    }

    private static void Scenario(StringBuilder html, ScenarioReport s)
    {
        html.Append(CultureInfo.InvariantCulture, $"<h2>Scenario {E(s.Name)}</h2>\n<p>Model: {E(s.Model)}. Warm-up calls: {s.Totals.WarmUpCalls}. Abandoned: {s.Totals.Abandoned}.</p>\n");
        // The final sample usually covers a fraction of an interval; its rates are noise on a chart (the CSV and
        // JSON keep it).
        var typical = s.TimeSeries.Select(p => p.IntervalSeconds).DefaultIfEmpty(0).Max();
        var points = s.TimeSeries.Where(p => p.IntervalSeconds >= typical / 4).ToArray();
        var measured = points.Where(p => p.Latency.Count > 0).ToArray();
        html.Append(SvgChart.Render("Latency percentiles over time", "ms",
        [
            new("p50", "#1f77b4", [.. measured.Select(p => (p.ElapsedSeconds, p.Latency.P50))]),
            new("p95", "#2ca02c", [.. measured.Select(p => (p.ElapsedSeconds, p.Latency.P95))]),
            new("p99", "#ff7f0e", [.. measured.Select(p => (p.ElapsedSeconds, p.Latency.P99))]),
            new("max", "#d62728", [.. measured.Select(p => (p.ElapsedSeconds, p.Latency.Max))]),
        ])).Append('\n');
        html.Append(SvgChart.Render("Throughput over time", "calls/s",
        [
            new("ok/s", "#1f77b4", [.. points.Select(p => (p.ElapsedSeconds, p.IntervalSeconds > 0 ? p.Ok / p.IntervalSeconds : 0))]),
            new("failed/s", "#d62728", [.. points.Select(p => (p.ElapsedSeconds, p.IntervalSeconds > 0 ? p.Failed / p.IntervalSeconds : 0))]),
            new("warm-up/s", "#999999", [.. points.Select(p => (p.ElapsedSeconds, p.IntervalSeconds > 0 ? p.WarmUpCalls / p.IntervalSeconds : 0))]),
        ])).Append('\n');
        var gauges = s.TimeSeries.SelectMany(p => p.Gauges.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (gauges.Length > 0)
        {
            string[] colors = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
            html.Append(SvgChart.Render("Gauges", "value",
                [.. gauges.Select((g, i) => new SvgChart.Series(g, colors[i % colors.Length],
                    [.. points.Select(p => (p.ElapsedSeconds, (double)p.Gauges.GetValueOrDefault(g)))]))])).Append('\n');
        }

        if (s.Totals.Errors.Count > 0)
        {
            html.Append("<table><tr><th>Status</th><th>Count</th></tr>\n");
            foreach (var (status, count) in s.Totals.Errors.OrderByDescending(e => e.Value))
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(status)}</td><td>{count}</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        if (s.Discrepancies.Count > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<h3>Discrepancies ({s.Totals.Discrepancies})</h3>\n<table><tr><th>Kind</th><th>At (s)</th><th>Detail</th></tr>\n");
            foreach (var d in s.Discrepancies.Take(200))
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(d.Kind)}</td><td>{d.AtSeconds:0.###}</td><td style=\"text-align:left\">{E(d.Detail)}</td></tr>\n");
            }

            html.Append("</table>\n");
        }
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
