namespace Vehicles.LoadTest;

/// <summary>
/// Drives a <see cref="LoadStep"/> according to a <see cref="LoadModel"/>, recording every call into
/// <see cref="ScenarioStats"/>.
/// </summary>
/// <remarks>
/// <para>
/// Open stages avoid coordinated omission: each arrival has an intended start time fixed by the model, latency is
/// measured from that time rather than from when the call actually started, and calls that start late (the harness
/// could not keep up) or are dropped (too many in flight) are counted. The number of arrivals is therefore exactly
/// what the model says, however slow the system under test is.
/// </para>
/// <para>
/// Closed stages run one worker per unit of concurrency; each worker decides from the planned timeline alone when
/// its stage is over, so the number of calls in flight never exceeds the stage's concurrency.
/// </para>
/// <para>
/// The run is bounded: it ends after the planned stages plus at most <see cref="SchedulerOptions.DrainTimeout"/>
/// (then calls are cancelled), after <see cref="SchedulerOptions.MaxCalls"/> calls, or when the caller cancels.
/// </para>
/// </remarks>
public sealed partial class LoadScheduler
{
    private const int SynchronousCallsBeforeYield = 16;
    private static readonly TimeSpan _abandonGrace = TimeSpan.FromSeconds(5);
    private readonly SchedulerOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates a scheduler.</summary>
    public LoadScheduler(SchedulerOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxInFlight, 1);
        _options = options;
        _time = timeProvider;
    }

    /// <summary>Runs the model to its end and returns once every call has finished or been abandoned.</summary>
    public async Task<SchedulerResult> RunAsync(
        LoadModel model, LoadStep step, ScenarioStats stats, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(stats);

        using var run = new Run(this, model, step, stats, cancellationToken);
        return await run.ExecuteAsync();
    }
}
