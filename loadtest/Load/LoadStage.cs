namespace Vehicles.LoadTest;

/// <summary>
/// One stage of a load model. Open stages (<see cref="ConstantRate"/>, <see cref="RampingRate"/>) start calls at a
/// given arrival rate whatever the system's answer time; the closed stage (<see cref="ConstantConcurrency"/>) keeps
/// a fixed number of calls in flight, each worker starting its next call when the previous one ends.
/// </summary>
/// <param name="Duration">How long the stage lasts.</param>
public abstract record LoadStage(TimeSpan Duration)
{
    /// <summary>A short human-readable description, for example <c>rate 100/s for 00:00:10</c>.</summary>
    public abstract string Describe();
}

/// <summary>Open model: starts <paramref name="RatePerSecond"/> calls per second, evenly spaced.</summary>
/// <param name="RatePerSecond">Arrivals per second; 0 pauses the load for the stage.</param>
/// <param name="Duration">How long the stage lasts.</param>
public sealed record ConstantRate(double RatePerSecond, TimeSpan Duration) : LoadStage(Duration)
{
    /// <inheritdoc />
    public override string Describe() => FormattableString.Invariant($"rate {RatePerSecond:0.###}/s for {Duration}");
}

/// <summary>Open model: the arrival rate moves linearly from <paramref name="FromRate"/> to <paramref name="ToRate"/>.</summary>
/// <param name="FromRate">Arrivals per second at the start of the stage.</param>
/// <param name="ToRate">Arrivals per second at the end of the stage.</param>
/// <param name="Duration">How long the stage lasts.</param>
public sealed record RampingRate(double FromRate, double ToRate, TimeSpan Duration) : LoadStage(Duration)
{
    /// <inheritdoc />
    public override string Describe() =>
        FormattableString.Invariant($"ramp {FromRate:0.###}/s -> {ToRate:0.###}/s over {Duration}");
}

/// <summary>Closed model: keeps exactly <paramref name="Concurrency"/> calls in flight.</summary>
/// <param name="Concurrency">Number of workers, each running one call at a time.</param>
/// <param name="Duration">How long the stage lasts.</param>
public sealed record ConstantConcurrency(int Concurrency, TimeSpan Duration) : LoadStage(Duration)
{
    /// <inheritdoc />
    public override string Describe() => FormattableString.Invariant($"concurrency {Concurrency} for {Duration}");
}
