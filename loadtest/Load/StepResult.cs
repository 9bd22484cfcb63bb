namespace Vehicles.LoadTest;

/// <summary>
/// The outcome of one call: success, or failure with a status name (a gRPC status code such as
/// <c>UNAVAILABLE</c>, or any short name a scenario chooses). Latency is not part of it: the harness measures it.
/// </summary>
public readonly record struct StepResult
{
    private StepResult(string? status) => Status = status;

    /// <summary>A successful call.</summary>
    public static StepResult Ok => default;

    /// <summary>The status name of a failed call; <see langword="null"/> on success.</summary>
    public string? Status { get; }

    /// <summary>Whether the call succeeded.</summary>
    public bool IsOk => Status is null;

    /// <summary>A failed call with the given status name.</summary>
    public static StepResult Fail(string status)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(status);
        return new StepResult(status);
    }

    /// <inheritdoc />
    public override string ToString() => Status ?? "OK";
}

/// <summary>Identifies one call made by the scheduler.</summary>
/// <param name="Sequence">The call's number within the scenario run, from 0 (warm-up calls included).</param>
/// <param name="Worker">In a closed stage the worker's index (0 to concurrency − 1); −1 in an open stage.</param>
public readonly record struct StepContext(long Sequence, int Worker);

/// <summary>One call of a scenario. Must honour <paramref name="cancellationToken"/>, which fires when the run is stopped.</summary>
/// <param name="context">Which call this is.</param>
/// <param name="cancellationToken">Cancelled when the run is aborted or the drain time after the last stage runs out.</param>
public delegate ValueTask<StepResult> LoadStep(StepContext context, CancellationToken cancellationToken);
