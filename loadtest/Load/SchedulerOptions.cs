namespace Vehicles.LoadTest;

/// <summary>Limits and tolerances of a <see cref="LoadScheduler"/>.</summary>
public sealed record SchedulerOptions
{
    /// <summary>
    /// Open model: the most calls in flight at once. An arrival that finds this many calls running is dropped
    /// (counted, not started), so a stalled system cannot make the harness pile up calls without bound.
    /// </summary>
    public int MaxInFlight { get; init; } = 10_000;

    /// <summary>Open model: a call started later than this after its intended start time is counted as late.</summary>
    public TimeSpan LateAfter { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How long calls still in flight after the last stage may take before they are cancelled.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The most calls to start in the whole run, warm-up included; <see langword="null"/> for no limit.</summary>
    public long? MaxCalls { get; init; }
}

/// <summary>What a scheduler run did, beyond the statistics it recorded.</summary>
/// <param name="Calls">Calls issued, warm-up included; in open stages every arrival, dropped ones too.</param>
/// <param name="MeasuredSeconds">Time from the end of warm-up to the end of the last call (or of the last stage).</param>
/// <param name="Abandoned">Calls still running when the scheduler gave up waiting for them after cancelling.</param>
public sealed record SchedulerResult(long Calls, double MeasuredSeconds, long Abandoned);
