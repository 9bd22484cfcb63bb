using System.Globalization;
using System.Text;

namespace Vehicles.LoadTest;

/// <summary>Renders every scenario's per-second time series as one CSV table (RFC 4180, invariant culture).</summary>
public static class CsvReport
{
    /// <summary>The header row.</summary>
    public const string Header =
        "scenario,elapsed_s,interval_s,requests,ok,failed,rps,p50_ms,p75_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms,mean_ms,warmup_calls,dropped,late,in_flight,errors,gauges";

    /// <summary>Renders the report's time series.</summary>
    public static string Render(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder(Header).Append('\n');
        foreach (var p in report.Scenarios.SelectMany(s => s.TimeSeries))
        {
            var l = p.Latency;
            csv.Append(Field(p.Scenario)).Append(',')
                .Append(CultureInfo.InvariantCulture, $"{p.ElapsedSeconds},{p.IntervalSeconds},{p.Requests},{p.Ok},{p.Failed},{p.Rps},")
                .Append(CultureInfo.InvariantCulture, $"{l.P50},{l.P75},{l.P90},{l.P95},{l.P99},{l.P999},{l.Max},{l.Mean},")
                .Append(CultureInfo.InvariantCulture, $"{p.WarmUpCalls},{p.Dropped},{p.Late},{p.InFlight},")
                .Append(Field(Pairs(p.Errors))).Append(',')
                .Append(Field(Pairs(p.Gauges))).Append('\n');
        }

        return csv.ToString();
    }

    private static string Pairs(IReadOnlyDictionary<string, long> values) =>
        string.Join(';', values.Select(v => string.Create(CultureInfo.InvariantCulture, $"{v.Key}={v.Value}")));

    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
