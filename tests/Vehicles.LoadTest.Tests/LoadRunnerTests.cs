using Microsoft.Extensions.Time.Testing;

namespace Vehicles.LoadTest.Tests;

public sealed class LoadRunnerTests
{
    [Fact]
    public async Task Run_WithFakeClock_SamplesOnePointPerSecondWhoseSumsMatchTheTotals()
    {
        var clock = new FakeTimeProvider();
        var scenario = new ClockScenario(clock, TimeSpan.FromMilliseconds(10));
        var runner = new LoadRunner(new RunSettings(), clock);
        var model = LoadModel.Concurrency(1, TimeSpan.FromSeconds(3), warmUp: TimeSpan.FromSeconds(1));
        var progress = new List<RunProgress>();

        var report = await runner.RunAsync([new ScenarioRun(scenario, model)], new SyncProgress(progress.Add))
            .WaitAsync(TimeSpan.FromSeconds(60));

        var s = Assert.Single(report.Scenarios);
        Assert.Equal(300, s.Totals.Requests);
        Assert.Equal(100, s.Totals.WarmUpCalls);
        Assert.Equal(100, s.Totals.Rps);
        // Every call took 10 ms: reported as the top of its histogram sub-bucket (10.047 ms), within 1 %.
        Assert.InRange(s.Totals.Latency.P50, 10, 10.1);
        Assert.Equal(s.Totals.Latency.P50, s.Totals.Latency.Max);
        // A call ending exactly on a tick is counted after it: the tick fires first. The last point is the final
        // sample, taken when the run ends (here at the same instant as the last tick).
        Assert.Equal([1.0, 2.0, 3.0, 4.0, 4.0], s.TimeSeries.Select(p => p.ElapsedSeconds));
        Assert.Equal([99L, 1, 0, 0, 0], s.TimeSeries.Select(p => p.WarmUpCalls));
        Assert.Equal([0L, 99, 100, 100, 1], s.TimeSeries.Select(p => p.Ok));
        Assert.Equal([0.0, 99, 100, 100, 0], s.TimeSeries.Select(p => p.Rps));
        Assert.Equal(s.Totals.Requests, s.TimeSeries.Sum(p => p.Requests));
        Assert.All(s.TimeSeries, p => Assert.Equal(7, p.Gauges["vehicles"]));
        Assert.Equal(s.TimeSeries.Count, progress.Count);
        Assert.Equal(report.Global with { Errors = s.Totals.Errors }, s.Totals);
        Assert.Equal(300, s.Histogram.Sum(b => b.Count));
    }

    [Fact]
    public async Task Run_TwoScenarios_ReportsEachAndTheirSum()
    {
        var runner = new LoadRunner(new RunSettings { Options = new Dictionary<string, string> { ["latency"] = "none" } }, TimeProvider.System);
        var first = new ScenarioRun(new SelfTestScenario(), LoadModel.Rate(100, TimeSpan.FromMilliseconds(500)));
        var second = new ScenarioRun(new RenamedScenario("second", new SelfTestScenario()), LoadModel.Rate(40, TimeSpan.FromMilliseconds(500)));

        var report = await runner.RunAsync([first, second], progress: null).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(["selftest", "second"], report.Scenarios.Select(s => s.Name));
        Assert.Equal(50, report.Scenarios[0].Totals.Requests);
        Assert.Equal(20, report.Scenarios[1].Totals.Requests);
        Assert.Equal(70, report.Global.Requests);
        Assert.Equal(70, report.Global.Latency.Count);
    }

    private sealed class SyncProgress(Action<RunProgress> report) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => report(value);
    }

    /// <summary>Each step takes exactly <paramref name="latency"/> of the fake clock.</summary>
    private sealed class ClockScenario(FakeTimeProvider clock, TimeSpan latency) : IScenario
    {
        public string Name => "clock";

        public ValueTask InitializeAsync(ScenarioContext context, CancellationToken cancellationToken)
        {
            context.Gauge("vehicles").Set(7);
            return ValueTask.CompletedTask;
        }

        public ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken)
        {
            clock.Advance(latency);
            return ValueTask.FromResult(StepResult.Ok);
        }

        public ValueTask VerifyAsync(ScenarioContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class RenamedScenario(string name, IScenario inner) : IScenario
    {
        public string Name => name;

        public ValueTask InitializeAsync(ScenarioContext context, CancellationToken cancellationToken) => inner.InitializeAsync(context, cancellationToken);

        public ValueTask<StepResult> ExecuteAsync(StepContext context, CancellationToken cancellationToken) => inner.ExecuteAsync(context, cancellationToken);

        public ValueTask VerifyAsync(ScenarioContext context, CancellationToken cancellationToken) => inner.VerifyAsync(context, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
