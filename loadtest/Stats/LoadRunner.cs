using System.Globalization;

namespace Vehicles.LoadTest;

/// <summary>A scenario and the load model to drive it with.</summary>
/// <param name="Scenario">The scenario.</param>
/// <param name="Model">Its load model.</param>
public sealed record ScenarioRun(IScenario Scenario, LoadModel Model);

/// <summary>Settings of a run shared by all its scenarios.</summary>
public sealed record RunSettings
{
    /// <summary>Scheduler limits.</summary>
    public SchedulerOptions Scheduler { get; init; } = new();

    /// <summary>The system under test.</summary>
    public Uri? Target { get; init; }

    /// <summary>The bearer token for it.</summary>
    public string? Token { get; init; }

    /// <summary>Scenario-specific options.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary>How to reach the Vehicles API beyond <see cref="Target"/> and <see cref="Token"/>.</summary>
    public ApiSettings Api { get; init; } = new();

    /// <summary>The length of a time-series interval.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Runs scenarios concurrently, each under its own load model, sampling their statistics into a time series every
/// interval, and returns the report (thresholds not yet evaluated).
/// </summary>
public sealed class LoadRunner
{
    private readonly RunSettings _settings;
    private readonly TimeProvider _time;

    /// <summary>Creates a runner.</summary>
    public LoadRunner(RunSettings settings, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(settings.Interval, TimeSpan.Zero);
        _settings = settings;
        _time = timeProvider;
    }

    /// <summary>Initialises the scenarios, runs the load, lets the scenarios verify, and builds the report.</summary>
    /// <param name="runs">The scenarios (distinct names) and their models.</param>
    /// <param name="progress">Receives each interval's statistics; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the load early; the report covers what ran.</param>
    public async Task<RunReport> RunAsync(
        IReadOnlyList<ScenarioRun> runs, IProgress<RunProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0 || runs.Select(r => r.Scenario.Name).Distinct(StringComparer.Ordinal).Count() != runs.Count)
        {
            throw new ArgumentException("A run needs at least one scenario, with distinct names.", nameof(runs));
        }

        var startedAt = _time.GetUtcNow();
        var contexts = runs.Select(r => new ScenarioContext(
            r.Scenario.Name, r.Model, _settings.Target, _settings.Token, _settings.Options, _time) { Api = _settings.Api }).ToArray();
        var stats = runs.Select(r => new ScenarioStats(r.Scenario.Name)).ToArray();
        for (var i = 0; i < runs.Count; i++)
        {
            await runs[i].Scenario.InitializeAsync(contexts[i], cancellationToken);
        }

        var sampler = new Sampler(this, runs, contexts, stats, progress);
        var scheduler = new LoadScheduler(_settings.Scheduler, _time);
        SchedulerResult[] results;
        await using (var timer = _time.CreateTimer(static s => ((Sampler)s!).Sample(), sampler, _settings.Interval, _settings.Interval))
        {
            results = await Task.WhenAll(runs.Select((r, i) =>
                scheduler.RunAsync(r.Model, r.Scenario.ExecuteAsync, stats[i], cancellationToken)));
        }

        // The last, usually partial, interval; the timer is disposed (and its callbacks finished) by now.
        sampler.Sample();
        for (var i = 0; i < runs.Count; i++)
        {
            await runs[i].Scenario.VerifyAsync(contexts[i], CancellationToken.None);
        }

        var scenarios = new ScenarioReport[runs.Count];
        var totals = new TotalStats[runs.Count];
        for (var i = 0; i < runs.Count; i++)
        {
            totals[i] = stats[i].Totals();
            scenarios[i] = new ScenarioReport(
                runs[i].Scenario.Name,
                runs[i].Model.ToString(),
                BuildTotals([totals[i]], results[i].MeasuredSeconds, results[i].Abandoned, contexts[i].DiscrepancyCount),
                sampler.Series(i),
                contexts[i].Discrepancies,
                [.. totals[i].Latency.Buckets()])
            {
                Metrics = contexts[i].Metrics.ToDictionary(m => m.Key, m => LatencyMs.From(m.Value.GetIntervalHistogram().Summarize()), StringComparer.Ordinal),
                FinalGauges = contexts[i].Gauges.ToDictionary(g => g.Key, g => g.Value.Value, StringComparer.Ordinal),
            };
        }

        var global = BuildTotals(
            totals,
            results.Max(r => r.MeasuredSeconds),
            results.Sum(r => r.Abandoned),
            contexts.Sum(c => c.DiscrepancyCount));
        return new RunReport(
            "Vehicles.LoadTest",
            startedAt,
            Math.Round((_time.GetUtcNow() - startedAt).TotalSeconds, 3),
            _settings.Api.Targets is { Count: > 1 } targets ? string.Join(",", targets) : _settings.Target?.ToString(),
            scenarios,
            global,
            [],
            DescribeSettings());
    }

    private SortedDictionary<string, string> DescribeSettings()
    {
        var scheduler = _settings.Scheduler;
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["max-in-flight"] = scheduler.MaxInFlight.ToString(CultureInfo.InvariantCulture),
            ["max-calls"] = scheduler.MaxCalls?.ToString(CultureInfo.InvariantCulture) ?? "none",
            ["late-after"] = DurationText.Format(scheduler.LateAfter),
            ["drain"] = DurationText.Format(scheduler.DrainTimeout),
            ["interval"] = DurationText.Format(_settings.Interval),
        };
        foreach (var (key, value) in _settings.Options)
        {
            settings["option:" + key] = value;
        }

        return settings;
    }

    private static ScenarioTotals BuildTotals(IReadOnlyList<TotalStats> parts, double measuredSeconds, long abandoned, long discrepancies)
    {
        var latency = Latencies.CreateHistogram();
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            latency.Add(part.Latency);
            foreach (var (status, count) in part.Errors)
            {
                errors[status] = errors.GetValueOrDefault(status) + count;
            }
        }

        var ok = parts.Sum(p => p.Ok);
        var failed = parts.Sum(p => p.Failed);
        var requests = ok + failed;
        return new ScenarioTotals(
            requests,
            ok,
            failed,
            requests == 0 ? 0 : (double)failed / requests,
            measuredSeconds > 0 ? Math.Round(requests / measuredSeconds, 3) : 0,
            Math.Round(measuredSeconds, 3),
            LatencyMs.From(latency.Summarize()),
            new Dictionary<string, long>(errors, StringComparer.Ordinal),
            parts.Sum(p => p.WarmUpCalls),
            parts.Sum(p => p.Dropped),
            parts.Sum(p => p.Late),
            abandoned,
            discrepancies);
    }

    /// <summary>Takes an interval from every scenario; called by the timer and once at the end, never concurrently.</summary>
    private sealed class Sampler(
        LoadRunner owner,
        IReadOnlyList<ScenarioRun> runs,
        ScenarioContext[] contexts,
        ScenarioStats[] stats,
        IProgress<RunProgress>? progress)
    {
        private readonly Lock _lock = new();
        private readonly List<TimeSeriesPoint>[] _series = [.. runs.Select(_ => new List<TimeSeriesPoint>())];
        private readonly long _start = owner._time.GetTimestamp();
        private readonly double _plannedSeconds = runs.Max(r => (r.Model.WarmUp + r.Model.Duration).TotalSeconds);
        private long _last = owner._time.GetTimestamp();

        public void Sample()
        {
            RunProgress update;
            lock (_lock)
            {
                var now = owner._time.GetTimestamp();
                var intervalSeconds = owner._time.GetElapsedTime(_last, now).TotalSeconds;
                var elapsed = owner._time.GetElapsedTime(_start, now).TotalSeconds;
                _last = now;
                var latest = new TimeSeriesPoint[runs.Count];
                for (var i = 0; i < runs.Count; i++)
                {
                    var interval = stats[i].TakeInterval();
                    var requests = interval.Ok + interval.Failed;
                    latest[i] = new TimeSeriesPoint(
                        runs[i].Scenario.Name,
                        Math.Round(elapsed, 3),
                        Math.Round(intervalSeconds, 3),
                        requests,
                        interval.Ok,
                        interval.Failed,
                        intervalSeconds > 0 ? Math.Round(requests / intervalSeconds, 3) : 0,
                        LatencyMs.From(interval.Latency.Summarize()),
                        new SortedDictionary<string, long>(interval.Errors.ToDictionary(), StringComparer.Ordinal),
                        new SortedDictionary<string, long>(contexts[i].Gauges.ToDictionary(g => g.Key, g => g.Value.Value), StringComparer.Ordinal),
                        interval.WarmUpCalls,
                        interval.Dropped,
                        interval.Late,
                        interval.InFlight);
                    _series[i].Add(latest[i]);
                }

                update = new RunProgress(Math.Round(elapsed, 3), _plannedSeconds, latest);
            }

            progress?.Report(update);
        }

        public IReadOnlyList<TimeSeriesPoint> Series(int index)
        {
            lock (_lock)
            {
                return [.. _series[index]];
            }
        }
    }
}
