using System.Collections.Concurrent;
using System.Globalization;
using HdrHistogram;

namespace Vehicles.LoadTest;

/// <summary>What the harness gives a scenario: where to connect, its options, its gauges and discrepancy list.</summary>
public sealed class ScenarioContext
{
    /// <summary>The most discrepancies kept in full; beyond it they are only counted.</summary>
    public const int MaxKeptDiscrepancies = 1000;

    private readonly ConcurrentDictionary<string, Gauge> _gauges = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Discrepancy> _discrepancies = new();
    private readonly ConcurrentDictionary<string, Recorder> _metrics = new(StringComparer.Ordinal);
    private readonly long _startTimestamp;
    private long _discrepancyCount;

    /// <summary>Creates a context.</summary>
    public ScenarioContext(
        string scenarioName,
        LoadModel model,
        Uri? target,
        string? token,
        IReadOnlyDictionary<string, string> options,
        TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scenarioName);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ScenarioName = scenarioName;
        Model = model;
        Target = target;
        Token = token;
        Options = options;
        TimeProvider = timeProvider;
        _startTimestamp = timeProvider.GetTimestamp();
    }

    /// <summary>The scenario's name.</summary>
    public string ScenarioName { get; }

    /// <summary>The load model the scenario is driven with (to size seed data, for example).</summary>
    public LoadModel Model { get; }

    /// <summary>The address of the system under test, when one was given.</summary>
    public Uri? Target { get; }

    /// <summary>The bearer token to call it with, when one was given.</summary>
    public string? Token { get; }

    /// <summary>Scenario-specific options (<c>--option key=value</c>), keys compared ordinally.</summary>
    public IReadOnlyDictionary<string, string> Options { get; }

    /// <summary>The clock to use for delays and timeouts, so that tests can replace it.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Discrepancies reported so far, including those not kept.</summary>
    public long DiscrepancyCount => Interlocked.Read(ref _discrepancyCount);

    /// <summary>The discrepancies kept (the first <see cref="MaxKeptDiscrepancies"/>).</summary>
    public IReadOnlyList<Discrepancy> Discrepancies => [.. _discrepancies];

    /// <summary>The gauges registered so far, by name.</summary>
    public IReadOnlyDictionary<string, Gauge> Gauges => _gauges;

    /// <summary>
    /// How to reach and authenticate to the Vehicles API beyond <see cref="Target"/> and <see cref="Token"/>
    /// (operator token, signing key, connection sharing); never <see langword="null"/>.
    /// </summary>
    public ApiSettings Api { get; init; } = new();

    /// <summary>
    /// The latency metrics registered so far (microseconds), by name. The run reads each once, after the scenario
    /// verified, with <see cref="Recorder.GetIntervalHistogram()"/> (which empties it).
    /// </summary>
    public IReadOnlyDictionary<string, Recorder> Metrics => _metrics;

    /// <summary>
    /// Returns the named latency recorder (microseconds; record with <see cref="Latencies.RecordMicroseconds"/>),
    /// creating it empty: for latencies a scenario measures besides its steps' (for example send-to-delivery of a
    /// command), from any thread. The report shows each one's summary.
    /// </summary>
    public Recorder Metric(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return _metrics.GetOrAdd(name, static _ => Latencies.CreateRecorder());
    }

    /// <summary>Returns the gauge of this name, creating it at 0. Gauges are sampled once a second.</summary>
    public Gauge Gauge(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return _gauges.GetOrAdd(name, static n => new Gauge(n));
    }

    /// <summary>Records a correctness problem found by the scenario, for the report. Thread-safe.</summary>
    /// <param name="kind">A short category, for example <c>lost-command</c>.</param>
    /// <param name="detail">What was expected and what was seen.</param>
    public void ReportDiscrepancy(string kind, string detail)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(detail);
        if (Interlocked.Increment(ref _discrepancyCount) <= MaxKeptDiscrepancies)
        {
            var at = TimeProvider.GetElapsedTime(_startTimestamp).TotalSeconds;
            _discrepancies.Enqueue(new Discrepancy(kind, detail, Math.Round(at, 3)));
        }
    }

    /// <summary>The option's value, or <paramref name="defaultValue"/> when it was not given.</summary>
    public string GetOption(string key, string defaultValue) => Options.GetValueOrDefault(key, defaultValue);

    /// <summary>The option as a number.</summary>
    /// <exception cref="FormatException">The option is not a number.</exception>
    public double GetOption(string key, double defaultValue) =>
        Options.TryGetValue(key, out var text)
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new FormatException($"Option '{key}' must be a number, not '{text}'.")
            : defaultValue;
}

/// <summary>A named value a scenario maintains (for example connected vehicles), sampled once a second.</summary>
public sealed class Gauge
{
    private long _value;

    internal Gauge(string name) => Name = name;

    /// <summary>The gauge's name.</summary>
    public string Name { get; }

    /// <summary>The current value.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Sets the value.</summary>
    public void Set(long value) => Interlocked.Exchange(ref _value, value);

    /// <summary>Adds one.</summary>
    public void Increment() => Interlocked.Increment(ref _value);

    /// <summary>Subtracts one.</summary>
    public void Decrement() => Interlocked.Decrement(ref _value);

    /// <summary>Adds <paramref name="amount"/>.</summary>
    public void Add(long amount) => Interlocked.Add(ref _value, amount);

    /// <summary>Raises the value to <paramref name="candidate"/> when that is larger.</summary>
    public void RaiseTo(long candidate)
    {
        var current = Interlocked.Read(ref _value);
        while (candidate > current)
        {
            var seen = Interlocked.CompareExchange(ref _value, candidate, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>A correctness problem a scenario found.</summary>
/// <param name="Kind">A short category.</param>
/// <param name="Detail">What was expected and what was seen.</param>
/// <param name="AtSeconds">When it was reported, in seconds from the scenario's start.</param>
public sealed record Discrepancy(string Kind, string Detail, double AtSeconds);

/// <summary>How to reach the Vehicles API, beyond the address and the vehicle token.</summary>
public sealed record ApiSettings
{
    /// <summary>Bearer token for FleetOperator calls, when one was given.</summary>
    public string? OperatorToken { get; init; }

    /// <summary>
    /// The API's token signing key (base64), when given: scenarios then mint a token per vehicle and an admin operator
    /// token themselves, as the server's TokenService would.
    /// </summary>
    public string? SigningKey { get; init; }

    /// <summary>Vehicles per TCP connection: 1 gives every vehicle its own connection, as real vehicles have.</summary>
    public int ShareConnections { get; init; } = 1;

    /// <summary>The address of a server hosting <c>vehicles.testing.v1.TestService</c>, for the echo baseline.</summary>
    public Uri? EchoTarget { get; init; }

    /// <summary>
    /// Every address of the system under test when there are several (the silos of one cluster), the first being the
    /// scenario's target: vehicles' connections and operator calls are spread round-robin over them.
    /// <see langword="null"/> when there is only the scenario's target.
    /// </summary>
    public IReadOnlyList<Uri>? Targets { get; init; }
}
