namespace Vehicles.LoadTest;

/// <summary>
/// A load scenario: set up once, then called concurrently by the scheduler for every step, then given the chance to
/// check what the system did (correctness, not speed) before it is disposed.
/// </summary>
/// <remarks>
/// <see cref="ExecuteAsync"/> runs on many threads at once and must be thread-safe. It reports success or a status
/// name (a gRPC status such as <c>UNAVAILABLE</c>); the harness measures latency itself.
/// </remarks>
public interface IScenario : IAsyncDisposable
{
    /// <summary>The scenario's name, as given on the command line.</summary>
    string Name { get; }

    /// <summary>Connects, seeds data and registers gauges; runs before any step.</summary>
    ValueTask InitializeAsync(ScenarioContext context, CancellationToken cancellationToken);

    /// <summary>Runs one step (one call, or one short exchange).</summary>
    ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken);

    /// <summary>Runs after the load: checks results and reports discrepancies through <paramref name="context"/>.</summary>
    ValueTask VerifyAsync(ScenarioContext context, CancellationToken cancellationToken);
}
