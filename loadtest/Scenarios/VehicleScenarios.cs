namespace Vehicles.LoadTest;

/// <summary>
/// Telemetry ingestion: every vehicle holds its own Connect stream and streams status reports along its route; a step
/// is one report, its latency report→ack. The load model sets the total report rate (vehicles × Hz).
/// </summary>
public sealed class TelemetryScenario : VehicleScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public const string ScenarioName = "telemetry";

    /// <inheritdoc />
    public override string Name => ScenarioName;

    /// <inheritdoc />
    public override ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken) =>
        ReportAsync(Fleet.For(context), cancellationToken);
}

/// <summary>
/// Commands: an operator sends commands (waiting for the result) to connected vehicles, which carry them out after
/// <c>command-delay</c> and answer; a step is one round trip, send→result. Metrics: send→delivery, send→vehicle result.
/// </summary>
public sealed class CommandsScenario : VehicleScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public const string ScenarioName = "commands";

    /// <inheritdoc />
    public override string Name => ScenarioName;

    /// <inheritdoc />
    public override ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken) =>
        Commands.SendAsync(Fleet.For(context), context.Sequence, cancellationToken);

    /// <inheritdoc />
    protected override Task InitializeScenarioAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        UseCommands();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Watch: operators watch the vehicles (<c>watch=vehicle</c>, one stream each) or the fleet (<c>watch=fleet</c>) while
/// the vehicles report; a step is one report, its latency report→watcher. Metric: report→ack.
/// </summary>
public sealed class WatchScenario : VehicleScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public const string ScenarioName = "watch";

    /// <inheritdoc />
    public override string Name => ScenarioName;

    /// <inheritdoc />
    protected override int DefaultVehicles => 20;

    /// <inheritdoc />
    public override ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var vehicle = Fleet.For(context);
        return Watch.IsWatched(vehicle.Vin) ? WatchedReportAsync(vehicle, cancellationToken) : ReportAsync(vehicle, cancellationToken);
    }

    /// <inheritdoc />
    protected override Task InitializeScenarioAsync(ScenarioContext context, CancellationToken cancellationToken) =>
        UseWatchAsync(int.MaxValue, cancellationToken);
}

/// <summary>
/// A blend, as production sees it: mostly status reports, a share of command round trips (<c>command-share</c>,
/// default 0.02) and of reports watched by an operator (<c>watch-share</c>, default 0.05, on the first <c>watched</c>
/// vehicles, default 100). Each step's latency is that of its kind.
/// </summary>
public class MixedScenario : VehicleScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public const string ScenarioName = "mixed";

    private double _commandShare;
    private double _watchShare;

    /// <inheritdoc />
    public override string Name => ScenarioName;

    /// <inheritdoc />
    public override ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        var draw = Random.Shared.NextDouble();
        if (draw < _commandShare)
        {
            return Commands.SendAsync(Fleet.For(context), context.Sequence, cancellationToken);
        }

        return draw < _commandShare + _watchShare
            ? WatchedReportAsync(Fleet.Vehicles[(int)(context.Sequence % WatchedCount)], cancellationToken)
            : ReportAsync(Fleet.For(context), cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task InitializeScenarioAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        _commandShare = context.GetOption("command-share", 0.02);
        _watchShare = context.GetOption("watch-share", 0.05);
        if (_commandShare < 0 || _watchShare < 0 || _commandShare + _watchShare > 1)
        {
            throw new FormatException("Options 'command-share' and 'watch-share' must be fractions adding up to at most 1.");
        }

        UseCommands();
        await UseWatchAsync(100, cancellationToken);
    }
}

/// <summary>
/// Soak: the mixed blend meant for long steady runs (minutes to hours at a moderate rate); the same checks at the end,
/// plus the generator's memory as a gauge to spot leaks on either side of the wire.
/// </summary>
public sealed class SoakScenario : MixedScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public new const string ScenarioName = "soak";

    private Gauge? _memory;

    /// <inheritdoc />
    public override string Name => ScenarioName;

    /// <inheritdoc />
    public override ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        if (context.Sequence % 1000 == 0)
        {
            _memory ??= Context.Gauge("process_mb");
            _memory.Set(Environment.WorkingSet / (1024 * 1024));
        }

        return base.ExecuteAsync(context, cancellationToken);
    }
}

/// <summary>
/// Reconnect storm: each step sends one report from every vehicle, drops every stream at once and reconnects them all
/// concurrently (with resume, resending what was not durable); the step's latency is the time until all are
/// connected again. Metrics: per-vehicle reconnect time and the time to all reconnected. Run it closed, e.g. <c>-c 1</c>.
/// </summary>
public sealed class ReconnectStormScenario : VehicleScenario
{
    /// <summary>The scenario's command-line name.</summary>
    public const string ScenarioName = "reconnect-storm";

    private int _storming;

    /// <inheritdoc />
    public override string Name => ScenarioName;

    /// <inheritdoc />
    public override async ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken)
    {
        // Storms overlapping would measure each other: one at a time, the others fail fast (run it with -c 1).
        if (Interlocked.Exchange(ref _storming, 1) != 0)
        {
            return StepResult.Fail("STORM_IN_PROGRESS");
        }

        try
        {
            // Reports in flight when the streams drop exercise the resend on resume.
            var reports = Fleet.Vehicles.Select(v => ReportAsync(v, cancellationToken).AsTask()).ToArray();
            var (elapsed, failed) = await Fleet.StormAsync(Context.Metric("reconnect_per_vehicle"), cancellationToken);
            await Task.WhenAll(reports);
            Context.Metric("all_reconnected").RecordMicroseconds((long)elapsed.TotalMicroseconds);
            Context.Gauge("storms").Increment();
            return failed == 0
                ? StepResult.Ok
                : StepResult.Fail("RECONNECT_FAILED");
        }
        finally
        {
            Volatile.Write(ref _storming, 0);
        }
    }
}
