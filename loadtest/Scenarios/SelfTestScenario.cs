using System.Globalization;

namespace Vehicles.LoadTest;

/// <summary>
/// A scenario that needs no server: each step waits a random latency and fails at a configured rate, so the whole
/// pipeline (model, statistics, live view, reports, thresholds, exit code) can run end to end.
/// </summary>
public sealed class SelfTestScenario : IScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public const string ScenarioName = "selftest";

    private LatencyDistribution _latency = LatencyDistribution.Parse("exp:2ms");
    private double _errorRate;
    private string _errorStatus = "UNAVAILABLE";
    private int _discrepancies;
    private long _calls;
    private TimeProvider _time = TimeProvider.System;
    private Gauge? _connected;

    /// <inheritdoc />
    public string Name => ScenarioName;

    /// <inheritdoc />
    public ValueTask InitializeAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        _latency = LatencyDistribution.Parse(context.GetOption("latency", "exp:2ms"));
        _errorRate = context.GetOption("errors", 0.0);
        _errorStatus = context.GetOption("error-status", "UNAVAILABLE");
        _discrepancies = (int)context.GetOption("discrepancies", 0.0);
        if (_errorRate is < 0 or > 1)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"Option 'errors' must be between 0 and 1, not {_errorRate}."));
        }

        _time = context.TimeProvider;
        // Synthetic stand-in for connected vehicles: the steps in progress.
        _connected = context.Gauge("connected");
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        var latency = _latency.Sample(Random.Shared);
        var failed = _errorRate > 0 && Random.Shared.NextDouble() < _errorRate;
        if (latency > TimeSpan.Zero)
        {
            _connected?.Increment();
            try
            {
                await Task.Delay(latency, _time, cancellationToken);
            }
            finally
            {
                _connected?.Decrement();
            }
        }

        return failed ? StepResult.Fail(_errorStatus) : StepResult.Ok;
    }

    /// <inheritdoc />
    public ValueTask VerifyAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Synthetic discrepancies, so that the report's discrepancy section and thresholds can be exercised.
        for (var i = 0; i < _discrepancies; i++)
        {
            context.ReportDiscrepancy("synthetic", string.Create(CultureInfo.InvariantCulture, $"synthetic discrepancy {i + 1} of {_discrepancies} after {Interlocked.Read(ref _calls)} calls"));
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
