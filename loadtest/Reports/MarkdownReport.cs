using System.Globalization;
using System.Text;

namespace Vehicles.LoadTest;

/// <summary>Renders a run report as Markdown.</summary>
public static class MarkdownReport
{
    private const int MaxSeriesRows = 120;
    private const int MaxDiscrepancyRows = 50;

    /// <summary>Renders the report.</summary>
    public static string Render(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Load test report: {(report.Passed ? "PASSED" : "FAILED")}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Started: {report.StartedAt:u}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Duration: {report.DurationSeconds:0.###} s\n");
        md.Append(CultureInfo.InvariantCulture, $"- Target: {report.Target ?? "(none)"}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Scenarios: {string.Join(", ", report.Scenarios.Select(s => $"{s.Name} ({s.Model})"))}\n");
        if (report.Settings is { Count: > 0 } settings)
        {
            md.Append(CultureInfo.InvariantCulture, $"- Settings: {Cell(string.Join(", ", settings.Select(s => $"{s.Key}={s.Value}")))}\n");
        }

        md.Append('\n');

        md.Append("## Thresholds\n\n");
        if (report.Thresholds.Count == 0)
        {
            md.Append("None given.\n\n");
        }
        else
        {
            md.Append("| Threshold | Scope | Actual | Result |\n| --- | --- | ---: | --- |\n");
            foreach (var t in report.Thresholds)
            {
                var actual = t.Actual is { } a ? a.ToString("0.####", CultureInfo.InvariantCulture) : "-";
                var result = t.Passed ? "pass" : "**FAIL**" + (t.Message is null ? "" : $" ({t.Message})");
                md.Append(CultureInfo.InvariantCulture, $"| `{Cell(t.Expression)}` | {Cell(t.Scope)} | {actual} | {Cell(result)} |\n");
            }

            md.Append('\n');
        }

        md.Append("## Totals (warm-up excluded; latency of successful calls, ms)\n\n");
        md.Append("| Scope | Requests | OK | Failed | Error rate | RPS | p50 | p75 | p95 | p99 | p99.9 | Max | Mean | Dropped | Late | Discrepancies |\n");
        md.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        foreach (var s in report.Scenarios)
        {
            TotalsRow(md, s.Name, s.Totals);
        }

        if (report.Scenarios.Count > 1)
        {
            TotalsRow(md, "**all**", report.Global);
        }

        md.Append('\n');
        foreach (var s in report.Scenarios)
        {
            ScenarioSection(md, s);
        }

        return md.ToString();
    }

    private static void TotalsRow(StringBuilder md, string name, ScenarioTotals t)
    {
        var l = t.Latency;
        md.Append(CultureInfo.InvariantCulture,
            $"| {Cell(name)} | {t.Requests} | {t.Ok} | {t.Failed} | {t.ErrorRate * 100:0.###} % | {t.Rps:0.#} | {l.P50:0.###} | {l.P75:0.###} | {l.P95:0.###} | {l.P99:0.###} | {l.P999:0.###} | {l.Max:0.###} | {l.Mean:0.###} | {t.Dropped} | {t.Late} | {t.Discrepancies} |\n");
    }

    private static void ScenarioSection(StringBuilder md, ScenarioReport s)
    {
        md.Append(CultureInfo.InvariantCulture, $"## Scenario {s.Name}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Model: {s.Model}. Warm-up calls: {s.Totals.WarmUpCalls}. Abandoned: {s.Totals.Abandoned}. Measured: {s.Totals.MeasuredSeconds:0.###} s.\n\n");
        if (s.Totals.Errors.Count > 0)
        {
            md.Append("| Status | Count |\n| --- | ---: |\n");
            foreach (var (status, count) in s.Totals.Errors.OrderByDescending(e => e.Value))
            {
                md.Append(CultureInfo.InvariantCulture, $"| {Cell(status)} | {count} |\n");
            }

            md.Append('\n');
        }

        if (s.Metrics.Count > 0)
        {
            md.Append("### Other latencies (ms)\n\n| Metric | Count | p50 | p90 | p99 | p99.9 | Max | Mean |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            foreach (var (name, l) in s.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                md.Append(CultureInfo.InvariantCulture,
                    $"| {Cell(name)} | {l.Count} | {l.P50:0.###} | {l.P90:0.###} | {l.P99:0.###} | {l.P999:0.###} | {l.Max:0.###} | {l.Mean:0.###} |\n");
            }

            md.Append('\n');
        }

        if (s.FinalGauges.Count > 0)
        {
            md.Append(CultureInfo.InvariantCulture, $"Final gauges: {Cell(string.Join(", ", s.FinalGauges.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Value}")))}.\n\n");
        }

        if (s.Totals.Discrepancies > 0)
        {
            md.Append(CultureInfo.InvariantCulture, $"### Discrepancies ({s.Totals.Discrepancies})\n\n| At (s) | Kind | Detail |\n| ---: | --- | --- |\n");
            foreach (var d in s.Discrepancies.Take(MaxDiscrepancyRows))
            {
                md.Append(CultureInfo.InvariantCulture, $"| {d.AtSeconds:0.###} | {Cell(d.Kind)} | {Cell(d.Detail)} |\n");
            }

            if (s.Totals.Discrepancies > MaxDiscrepancyRows)
            {
                md.Append(CultureInfo.InvariantCulture, $"\n{s.Totals.Discrepancies - MaxDiscrepancyRows} more in report.json (up to {ScenarioContext.MaxKeptDiscrepancies} kept).\n");
            }

            md.Append('\n');
        }

        if (s.TimeSeries.Count > MaxSeriesRows)
        {
            md.Append(CultureInfo.InvariantCulture, $"Per-second series: {s.TimeSeries.Count} rows in timeseries.csv.\n\n");
            return;
        }

        md.Append("### Per second\n\n| t (s) | RPS | p50 | p99 | Max | Failed | Warm-up | Dropped | Late | In flight | Gauges |\n");
        md.Append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        foreach (var p in s.TimeSeries)
        {
            var gauges = string.Join(", ", p.Gauges.Select(g => $"{g.Key}={g.Value}"));
            md.Append(CultureInfo.InvariantCulture,
                $"| {p.ElapsedSeconds:0.#} | {p.Rps:0.#} | {p.Latency.P50:0.###} | {p.Latency.P99:0.###} | {p.Latency.Max:0.###} | {p.Failed} | {p.WarmUpCalls} | {p.Dropped} | {p.Late} | {p.InFlight} | {Cell(gauges)} |\n");
        }

        md.Append('\n');
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');
}
