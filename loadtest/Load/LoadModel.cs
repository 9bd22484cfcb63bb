namespace Vehicles.LoadTest;

/// <summary>
/// How a scenario is driven: an optional warm-up, then a sequence of stages. During warm-up the first stage's load
/// (at its starting level) runs but nothing is recorded; the measured run is the stages that follow.
/// </summary>
public sealed record LoadModel
{
    /// <summary>Creates a model.</summary>
    /// <param name="stages">At least one stage.</param>
    /// <param name="warmUp">Load run before measuring; <see cref="TimeSpan.Zero"/> for none.</param>
    public LoadModel(IReadOnlyList<LoadStage> stages, TimeSpan warmUp = default)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (stages.Count == 0)
        {
            throw new ArgumentException("A load model needs at least one stage.", nameof(stages));
        }

        foreach (var stage in stages)
        {
            Validate(stage);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(warmUp, TimeSpan.Zero);
        Stages = stages;
        WarmUp = warmUp;
    }

    /// <summary>The measured stages, run one after the other.</summary>
    public IReadOnlyList<LoadStage> Stages { get; }

    /// <summary>Load run before the stages, not recorded.</summary>
    public TimeSpan WarmUp { get; }

    /// <summary>The measured duration: the sum of the stages' durations.</summary>
    public TimeSpan Duration => Stages.Aggregate(TimeSpan.Zero, (sum, stage) => sum + stage.Duration);

    /// <summary>An open model at a constant rate.</summary>
    public static LoadModel Rate(double ratePerSecond, TimeSpan duration, TimeSpan warmUp = default) =>
        new([new ConstantRate(ratePerSecond, duration)], warmUp);

    /// <summary>A closed model at a constant concurrency.</summary>
    public static LoadModel Concurrency(int concurrency, TimeSpan duration, TimeSpan warmUp = default) =>
        new([new ConstantConcurrency(concurrency, duration)], warmUp);

    /// <summary>The stages as they are run: the warm-up stage (when there is one) first.</summary>
    internal IEnumerable<(LoadStage Stage, bool IsWarmUp)> Timeline()
    {
        if (WarmUp > TimeSpan.Zero)
        {
            LoadStage warmUp = Stages[0] switch
            {
                ConstantRate rate => rate with { Duration = WarmUp },
                RampingRate ramp => new ConstantRate(ramp.FromRate, WarmUp),
                ConstantConcurrency closed => closed with { Duration = WarmUp },
                var other => throw new NotSupportedException($"Unknown stage {other.GetType().Name}."),
            };
            yield return (warmUp, true);
        }

        foreach (var stage in Stages)
        {
            yield return (stage, false);
        }
    }

    /// <summary>Describes the model, for example <c>warm-up 00:00:05, then rate 100/s for 00:00:30</c>.</summary>
    public override string ToString()
    {
        var stages = string.Join(", then ", Stages.Select(s => s.Describe()));
        return WarmUp > TimeSpan.Zero ? $"warm-up {WarmUp}, then {stages}" : stages;
    }

    private static void Validate(LoadStage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        if (stage.Duration <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Stage '{stage.Describe()}' must last longer than zero.", nameof(stage));
        }

        var valid = stage switch
        {
            ConstantRate r => double.IsFinite(r.RatePerSecond) && r.RatePerSecond >= 0,
            RampingRate r => double.IsFinite(r.FromRate) && double.IsFinite(r.ToRate) && r.FromRate >= 0 && r.ToRate >= 0,
            ConstantConcurrency c => c.Concurrency > 0,
            _ => false,
        };
        if (!valid)
        {
            throw new ArgumentException($"Stage '{stage.Describe()}' has an invalid rate or concurrency.", nameof(stage));
        }
    }
}
