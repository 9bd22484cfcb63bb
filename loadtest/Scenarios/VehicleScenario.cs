using System.Collections.Concurrent;
using System.Globalization;
using HdrHistogram;

namespace Vehicles.LoadTest;

/// <summary>
/// The base of the scenarios that drive the Vehicles API: connects the scenario's simulated vehicles, offers the
/// operations steps are made of (a status report, a command round trip, a watched report), and after the run checks
/// what the system stored against what the vehicles and operators were told.
/// </summary>
/// <remarks>
/// Options (<c>-O key=value</c>): <c>vehicles</c> (count), <c>connect-parallelism</c>, <c>command-delay</c> (how long a
/// vehicle takes to carry out a command, a <see cref="LatencyDistribution"/>), <c>fail-rate</c> (share of commands
/// vehicles answer FAILED), <c>command-timeout</c>, <c>settle</c> (how long verification waits for late results),
/// <c>lie-rate</c> (share of results a vehicle misreports: only to prove the checks work).
/// </remarks>
public abstract class VehicleScenario : IScenario
{
    private readonly ConcurrentDictionary<string, long> _lastAckedCapture = new(StringComparer.Ordinal);
    private ScenarioContext? _context;
    private ApiConnection? _api;
    private VehicleFleet? _fleet;
    private CommandTracker? _commands;
    private WatchTracker? _watch;
    private Recorder? _reportToAck;
    private TimeSpan _settle;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>Vehicles when the <c>vehicles</c> option is absent.</summary>
    protected virtual int DefaultVehicles => 100;

    /// <summary>The scenario's context (after <see cref="InitializeAsync"/>).</summary>
    protected ScenarioContext Context => _context ?? throw NotInitialised();

    /// <summary>The scenario's vehicles (after <see cref="InitializeAsync"/>).</summary>
    protected VehicleFleet Fleet => _fleet ?? throw NotInitialised();

    /// <summary>The operator client (after <see cref="InitializeAsync"/>).</summary>
    protected OperatorClient Operators { get; private set; } = null!;

    /// <summary>The command sender, when the scenario uses one (set by <see cref="UseCommands"/>).</summary>
    protected CommandTracker Commands => _commands ?? throw new InvalidOperationException("Call UseCommands in InitializeScenarioAsync.");

    /// <summary>The watchers, when the scenario uses them (set by <see cref="UseWatchAsync"/>).</summary>
    protected WatchTracker Watch => _watch ?? throw new InvalidOperationException("Call UseWatchAsync in InitializeScenarioAsync.");

    /// <summary>How many vehicles are watched (the first ones of <see cref="Fleet"/>); 0 without watches.</summary>
    protected int WatchedCount { get; private set; }

    /// <inheritdoc />
    public async ValueTask InitializeAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        var vehicles = (int)context.GetOption("vehicles", DefaultVehicles);
        var parallelism = (int)context.GetOption("connect-parallelism", 64);
        var failRate = context.GetOption("fail-rate", 0.0);
        var lieRate = context.GetOption("lie-rate", 0.0);
        if (vehicles is < 1 or > VinGenerator.Capacity || parallelism < 1)
        {
            throw new FormatException("Options 'vehicles' and 'connect-parallelism' must be at least 1.");
        }

        if (failRate is < 0 or > 1 || lieRate is < 0 or > 1)
        {
            throw new FormatException("Options 'fail-rate' and 'lie-rate' must be between 0 and 1.");
        }

        _settle = Duration(context, "settle", TimeSpan.FromSeconds(10));
        var behaviour = new VehicleBehaviour
        {
            CommandDelay = LatencyDistribution.Parse(context.GetOption("command-delay", "fixed:1ms")),
            FailRate = failRate,
            LieRate = lieRate,
        };
        _api = ApiConnection.FromContext(context);
        Operators = new OperatorClient(_api);
        _fleet = await VehicleFleet.ConnectAsync(_api, context, vehicles, parallelism, behaviour, cancellationToken);
        context.Gauge("connections").Set(_api.VehicleChannels);
        await InitializeScenarioAsync(context, cancellationToken);
    }

    /// <inheritdoc />
    public abstract ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken);

    /// <inheritdoc />
    public virtual async ValueTask VerifyAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_watch is not null)
        {
            await _watch.VerifyAsync(Fleet.Vehicles, _lastAckedCapture, _settle, cancellationToken);
        }

        if (_commands is not null)
        {
            await _commands.VerifyAsync(_settle, cancellationToken);
        }

        await Fleet.VerifyAsync(Operators, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_watch is not null)
        {
            await _watch.DisposeAsync();
        }

        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }

        _api?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Scenario-specific set-up after the vehicles are connected.</summary>
    protected virtual Task InitializeScenarioAsync(ScenarioContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Creates the command sender.</summary>
    protected void UseCommands() =>
        _commands = new CommandTracker(Context, Operators, Duration(Context, "command-timeout", TimeSpan.FromSeconds(10)));

    /// <summary>
    /// Opens the watches on the first <c>watched</c> vehicles (option, default <paramref name="defaultWatched"/>), per
    /// vehicle or per fleet (<c>watch=vehicle|fleet</c>, <c>min-interval</c> for the fleet watch's coalescing).
    /// </summary>
    protected async Task UseWatchAsync(int defaultWatched, CancellationToken cancellationToken)
    {
        var watched = (int)Math.Min(Context.GetOption("watched", defaultWatched), int.MaxValue);
        var mode = Context.GetOption("watch", "vehicle");
        if (mode is not ("vehicle" or "fleet"))
        {
            throw new FormatException($"Option 'watch' must be vehicle or fleet, not '{mode}'.");
        }

        _reportToAck = Context.Metric("report_to_ack");
        WatchedCount = Math.Clamp(watched, 1, Fleet.Count);
        _watch = await WatchTracker.StartAsync(
            Context, Operators, Fleet.Vehicles.Take(WatchedCount), mode == "fleet" ? Fleet.FleetId : null,
            Duration(Context, "min-interval", TimeSpan.FromMilliseconds(100)), cancellationToken);
    }

    /// <summary>One status report from <paramref name="vehicle"/>; the step ends with its ack.</summary>
    protected async ValueTask<StepResult> ReportAsync(SimulatedVehicle vehicle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vehicle);
        try
        {
            var (_, capture) = await vehicle.ReportWithCaptureAsync(cancellationToken);
            RecordAcked(vehicle, capture);
            return StepResult.Ok;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return StepResult.Fail(CallErrors.StatusName(e));
        }
    }

    /// <summary>One status report from a watched vehicle; the step ends when a watcher has seen it.</summary>
    protected async ValueTask<StepResult> WatchedReportAsync(SimulatedVehicle vehicle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vehicle);
        var time = Context.TimeProvider;
        var start = time.GetTimestamp();
        long capture;
        try
        {
            (_, capture) = await vehicle.ReportWithCaptureAsync(cancellationToken);
            _reportToAck!.RecordMicroseconds((long)time.GetElapsedTime(start).TotalMicroseconds);
            RecordAcked(vehicle, capture);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return StepResult.Fail(CallErrors.StatusName(e));
        }

        try
        {
            await Watch.SeenAsync(vehicle.Vin, capture).WaitAsync(_settle, time, cancellationToken);
            return StepResult.Ok;
        }
        catch (TimeoutException)
        {
            return StepResult.Fail("WATCH_TIMEOUT");
        }
    }

    /// <summary>Reads a duration option.</summary>
    /// <exception cref="FormatException">The option is not a duration.</exception>
    protected static TimeSpan Duration(ScenarioContext context, string key, TimeSpan defaultValue)
    {
        ArgumentNullException.ThrowIfNull(context);
        var text = context.GetOption(key, "");
        return text.Length == 0
            ? defaultValue
            : DurationText.TryParse(text, out var value) ? value : throw new FormatException($"Option '{key}' must be a duration (e.g. 500ms, 10s), not '{text}'.");
    }

    private void RecordAcked(SimulatedVehicle vehicle, long capture)
    {
        // Only watched runs check that watchers saw the last acked report; the others skip the bookkeeping.
        if (_watch is not null && _watch.IsWatched(vehicle.Vin))
        {
            _lastAckedCapture.AddOrUpdate(vehicle.Vin, capture, (_, old) => Math.Max(old, capture));
        }
    }

    private InvalidOperationException NotInitialised() => new(string.Create(CultureInfo.InvariantCulture, $"Scenario '{Name}' is not initialised."));
}
