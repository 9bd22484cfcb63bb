using System.Globalization;
using System.Text.RegularExpressions;

namespace Vehicles.LoadTest;

/// <summary>The comparison in a <see cref="Threshold"/>.</summary>
public enum ThresholdOperator
{
    /// <summary><c>&lt;</c></summary>
    LessThan,

    /// <summary><c>&lt;=</c></summary>
    LessThanOrEqual,

    /// <summary><c>&gt;</c></summary>
    GreaterThan,

    /// <summary><c>&gt;=</c></summary>
    GreaterThanOrEqual,

    /// <summary><c>==</c></summary>
    Equal,
}

/// <summary>
/// A pass/fail condition on a run's results, such as <c>p99&lt;20ms</c>, <c>error_rate&lt;0.1%</c>,
/// <c>rps&gt;=1000</c> or, for one scenario only, <c>telemetry:p50&lt;=5ms</c>.
/// </summary>
/// <remarks>
/// Metrics: <c>p50 p75 p90 p95 p99 p99.9 min mean max</c> (latency of successful calls; units us, ms, s; a bare
/// number is milliseconds), <c>error_rate</c> (a fraction, or a percentage with %), <c>rps</c>, <c>requests</c>,
/// <c>ok</c>, <c>failed</c>, <c>dropped</c>, <c>late</c>, <c>abandoned</c>, <c>discrepancies</c>.
/// Without a scope the threshold applies to all scenarios together.
/// </remarks>
public sealed partial record Threshold
{
    /// <summary>The scope name meaning all scenarios together.</summary>
    public const string GlobalScope = "all";

    private static readonly Dictionary<string, Func<ScenarioTotals, double>> _metrics = new(StringComparer.OrdinalIgnoreCase)
    {
        ["p50"] = t => t.Latency.P50,
        ["p75"] = t => t.Latency.P75,
        ["p90"] = t => t.Latency.P90,
        ["p95"] = t => t.Latency.P95,
        ["p99"] = t => t.Latency.P99,
        ["p99.9"] = t => t.Latency.P999,
        ["p999"] = t => t.Latency.P999,
        ["min"] = t => t.Latency.Min,
        ["mean"] = t => t.Latency.Mean,
        ["max"] = t => t.Latency.Max,
        ["error_rate"] = t => t.ErrorRate,
        ["rps"] = t => t.Rps,
        ["requests"] = t => t.Requests,
        ["ok"] = t => t.Ok,
        ["failed"] = t => t.Failed,
        ["dropped"] = t => t.Dropped,
        ["late"] = t => t.Late,
        ["abandoned"] = t => t.Abandoned,
        ["discrepancies"] = t => t.Discrepancies,
    };

    private Threshold(string expression, string scope, string metric, ThresholdOperator op, double limit)
    {
        Expression = expression;
        Scope = scope;
        Metric = metric;
        Operator = op;
        Limit = limit;
    }

    /// <summary>The threshold as written.</summary>
    public string Expression { get; }

    /// <summary>The scenario it applies to, or <see cref="GlobalScope"/>.</summary>
    public string Scope { get; }

    /// <summary>The metric, lower case (for example <c>p99</c>, <c>error_rate</c>).</summary>
    public string Metric { get; }

    /// <summary>The comparison.</summary>
    public ThresholdOperator Operator { get; }

    /// <summary>The limit, in the metric's reported unit: milliseconds for latency, a fraction for error_rate.</summary>
    public double Limit { get; }

    /// <summary>Parses a threshold.</summary>
    /// <exception cref="FormatException">The text is not a threshold; the message says why.</exception>
    public static Threshold Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = Syntax().Match(text);
        if (!match.Success)
        {
            throw new FormatException($"'{text}' is not a threshold: expected [scenario:]metric<op>value, for example p99<20ms or telemetry:error_rate<0.1%.");
        }

        var scope = match.Groups["scope"].Success ? match.Groups["scope"].Value : GlobalScope;
        var metric = match.Groups["metric"].Value.ToLowerInvariant();
        if (!_metrics.ContainsKey(metric))
        {
            throw new FormatException($"'{text}': unknown metric '{metric}'; known: {string.Join(", ", _metrics.Keys)}.");
        }

        var op = match.Groups["op"].Value switch
        {
            "<" => ThresholdOperator.LessThan,
            "<=" => ThresholdOperator.LessThanOrEqual,
            ">" => ThresholdOperator.GreaterThan,
            ">=" => ThresholdOperator.GreaterThanOrEqual,
            _ => ThresholdOperator.Equal,
        };
        var number = double.Parse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        var unit = match.Groups["unit"].Value.ToLowerInvariant();
        var limit = Scale(text, metric, number, unit);
        return new Threshold(text.Trim(), scope, metric == "p999" ? "p99.9" : metric, op, limit);
    }

    /// <summary>Evaluates the threshold against a report: its scenario's totals, or the global totals.</summary>
    public ThresholdResult Evaluate(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        ScenarioTotals? totals = string.Equals(Scope, GlobalScope, StringComparison.OrdinalIgnoreCase)
            ? report.Global
            : report.Scenarios.FirstOrDefault(s => string.Equals(s.Name, Scope, StringComparison.OrdinalIgnoreCase))?.Totals;
        if (totals is null)
        {
            return new ThresholdResult(Expression, Scope, null, false, $"no scenario named '{Scope}' ran");
        }

        var actual = _metrics[Metric](totals);
        var latencyWithoutData = IsLatency(Metric) && totals.Latency.Count == 0;
        if (latencyWithoutData)
        {
            return new ThresholdResult(Expression, Scope, null, false, "no successful calls to measure latency on");
        }

        var passed = Operator switch
        {
            ThresholdOperator.LessThan => actual < Limit,
            ThresholdOperator.LessThanOrEqual => actual <= Limit,
            ThresholdOperator.GreaterThan => actual > Limit,
            ThresholdOperator.GreaterThanOrEqual => actual >= Limit,
            _ => actual == Limit,
        };
        return new ThresholdResult(Expression, Scope, actual, passed);
    }

    private static bool IsLatency(string metric) =>
        metric.StartsWith('p') || metric is "min" or "mean" or "max";

    private static double Scale(string text, string metric, double number, string unit)
    {
        if (IsLatency(metric))
        {
            return unit switch
            {
                "" or "ms" => number,
                "us" or "µs" => number / 1000,
                "s" => number * 1000,
                _ => throw new FormatException($"'{text}': latency takes us, ms or s, not '{unit}'."),
            };
        }

        if (metric == "error_rate")
        {
            return unit switch
            {
                "" => number,
                "%" => number / 100,
                _ => throw new FormatException($"'{text}': error_rate is a fraction (0.001) or a percentage (0.1%), not '{unit}'."),
            };
        }

        return unit.Length == 0 ? number : throw new FormatException($"'{text}': {metric} takes no unit.");
    }

    [GeneratedRegex(@"^\s*(?:(?<scope>[A-Za-z0-9_\-]+):)?(?<metric>[A-Za-z_]+[0-9.]*)\s*(?<op><=|>=|==|<|>)\s*(?<value>[0-9]+(?:\.[0-9]+)?)\s*(?<unit>us|µs|ms|s|%)?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Syntax();
}
