using Microsoft.Extensions.Time.Testing;

namespace Vehicles.LoadTest.Tests;

public sealed class SchedulerTests
{
    private static readonly TimeSpan _testTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(100, 100, 1.0, 100)]
    [InlineData(250, 250, 2.0, 500)]
    [InlineData(0, 200, 2.0, 200)]
    [InlineData(200, 0, 2.0, 200)]
    [InlineData(0, 0, 5.0, 0)]
    public void ArrivalSchedule_ForRateAndDuration_HasMeanRateTimesDurationArrivals(double from, double to, double seconds, long expected)
    {
        var count = ArrivalSchedule.Count(from, to, seconds);

        Assert.Equal(expected, count);
    }

    [Fact]
    public void ArrivalSchedule_RampingUp_SpacesArrivalsCloserOverTime()
    {
        var times = Enumerable.Range(0, 200).Select(k => ArrivalSchedule.ArrivalTime(0, 200, 2, k)!.Value).ToArray();

        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToArray();
        Assert.Equal(0, times[0]);
        Assert.All(gaps, gap => Assert.True(gap > 0));
        Assert.True(gaps[^1] < gaps[1]);
        Assert.True(times[^1] < 2);
        // Half of the arrivals of a linear ramp from zero come in its last 1 - 1/√2 of the time.
        Assert.InRange(times[100], 1.41, 1.42);
    }

    [Fact]
    public async Task OpenModel_ForRateAndDuration_IssuesExactlyRateTimesDurationCalls()
    {
        var stats = new ScenarioStats("open");
        var calls = 0L;
        var scheduler = new LoadScheduler(new SchedulerOptions(), TimeProvider.System);
        var model = LoadModel.Rate(200, TimeSpan.FromSeconds(1), warmUp: TimeSpan.FromMilliseconds(500));

        var result = await scheduler.RunAsync(model, (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(StepResult.Ok);
        }, stats).WaitAsync(_testTimeout);

        // Arrivals are fixed by the model, not by how fast the harness or the step is: the count is exact.
        stats.TakeInterval();
        var totals = stats.Totals();
        Assert.Equal(300, calls);
        Assert.Equal(300, result.Calls);
        Assert.Equal(100, totals.WarmUpCalls);
        Assert.Equal(200, totals.Ok);
        Assert.Equal(200, totals.Latency.TotalCount);
        Assert.Equal(0, totals.Failed);
        Assert.Equal(0, totals.Dropped);
        Assert.Equal(0, result.Abandoned);
    }

    [Fact]
    public async Task OpenModel_WhenTheHarnessStalls_MeasuresFromIntendedStartAndCountsLateStarts()
    {
        var clock = new FakeTimeProvider();
        var stats = new ScenarioStats("stall");
        var scheduler = new LoadScheduler(new SchedulerOptions { LateAfter = TimeSpan.FromMilliseconds(10) }, clock);
        var model = LoadModel.Rate(100, TimeSpan.FromMilliseconds(300));

        // The first call holds the dispatcher for 300 ms; the other 29 arrivals (every 10 ms) are then overdue.
        var result = await scheduler.RunAsync(model, (context, _) =>
        {
            if (context.Sequence == 0)
            {
                clock.Advance(TimeSpan.FromMilliseconds(300));
            }

            return ValueTask.FromResult(StepResult.Ok);
        }, stats).WaitAsync(_testTimeout);

        var interval = stats.TakeInterval();
        Assert.Equal(30, result.Calls);
        Assert.Equal(30, interval.Ok);
        // Arrivals at 10..280 ms started at 300 ms, more than 10 ms late; the one at 290 ms exactly 10 ms late.
        Assert.Equal(28, interval.Late);
        // Measured from intended start, latencies are 300, 290, ..., 10 ms: the median is 150 ms, not 0 (each within
        // the histogram's 1 %).
        var latency = interval.Latency.Summarize();
        Assert.InRange(latency.Min, 9_900, 10_000);
        Assert.InRange(latency.Max, 300_000, 303_000);
        Assert.InRange(latency.P50, 150_000, 151_500);
    }

    [Fact]
    public async Task OpenModel_WhenTooManyCallsAreInFlight_DropsArrivals()
    {
        var stats = new ScenarioStats("dropped");
        var release = new TaskCompletionSource<StepResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduler = new LoadScheduler(new SchedulerOptions { MaxInFlight = 5 }, TimeProvider.System);
        var model = LoadModel.Rate(100, TimeSpan.FromMilliseconds(200));

        var run = scheduler.RunAsync(model, (_, _) => new ValueTask<StepResult>(release.Task), stats);
        var planned = ArrivalSchedule.Count(100, 100, 0.2);
        await PollUntilAsync(() => stats.PeekDropped >= planned - 5);
        release.SetResult(StepResult.Ok);
        var result = await run.WaitAsync(_testTimeout);

        stats.TakeInterval();
        var totals = stats.Totals();
        Assert.Equal(20, result.Calls);
        Assert.Equal(5, totals.Ok);
        Assert.Equal(15, totals.Dropped);
    }

    [Fact]
    public async Task ClosedModel_KeepsConcurrencyExactlyN()
    {
        const int Concurrency = 8;
        var stats = new ScenarioStats("closed");
        var current = 0;
        var highest = 0;
        var workers = new HashSet<int>();
        var allInFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // MaxCalls ends the run; the long duration only bounds it should the barrier never open.
        var scheduler = new LoadScheduler(new SchedulerOptions { MaxCalls = Concurrency * 50 }, TimeProvider.System);
        var model = LoadModel.Concurrency(Concurrency, TimeSpan.FromSeconds(30));

        var result = await scheduler.RunAsync(model, async (context, ct) =>
        {
            var now = Interlocked.Increment(ref current);
            InterlockedMax(ref highest, now);
            lock (workers)
            {
                workers.Add(context.Worker);
            }

            if (now == Concurrency)
            {
                allInFlight.TrySetResult();
            }

            // The first calls wait until N are in flight together: N must be reached, whatever the machine's load.
            await allInFlight.Task.WaitAsync(ct);
            await Task.Yield();
            Interlocked.Decrement(ref current);
            return StepResult.Ok;
        }, stats).WaitAsync(_testTimeout);

        stats.TakeInterval();
        Assert.Equal(Concurrency, highest);
        Assert.Equal(Enumerable.Range(0, Concurrency), workers.Order());
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(Concurrency * 50, result.Calls);
        Assert.Equal(Concurrency * 50, stats.Totals().Ok);
    }

    [Fact]
    public async Task ClosedModel_WithWarmUp_RecordsOnlyCallsStartedAfterIt()
    {
        var clock = new FakeTimeProvider();
        var stats = new ScenarioStats("warm");
        var scheduler = new LoadScheduler(new SchedulerOptions(), clock);
        var model = LoadModel.Concurrency(1, TimeSpan.FromSeconds(1), warmUp: TimeSpan.FromMilliseconds(100));

        // Each call takes exactly 10 ms of the fake clock.
        var result = await scheduler.RunAsync(model, (_, _) =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            return ValueTask.FromResult(StepResult.Ok);
        }, stats).WaitAsync(_testTimeout);

        var interval = stats.TakeInterval();
        Assert.Equal(110, result.Calls);
        Assert.Equal(10, interval.WarmUpCalls);
        Assert.Equal(100, interval.Ok);
        var latency = interval.Latency.Summarize();
        Assert.InRange(latency.Min, 9_900, 10_000);
        Assert.InRange(latency.Max, 10_000, 10_100);
        Assert.Equal(1.0, result.MeasuredSeconds, precision: 6);
    }

    [Fact]
    public async Task Stages_ClosedThenOpen_RunEachStageInTurn()
    {
        var clock = new FakeTimeProvider();
        var stats = new ScenarioStats("stages");
        var scheduler = new LoadScheduler(new SchedulerOptions(), clock);
        var closedCalls = 0;
        var openCalls = 0;
        var model = new LoadModel(
        [
            new ConstantConcurrency(1, TimeSpan.FromMilliseconds(50)),
            new ConstantRate(100, TimeSpan.FromMilliseconds(100)),
        ]);

        // Closed calls move the clock 10 ms each; open calls move it to their successor's intended start.
        var result = await scheduler.RunAsync(model, (context, _) =>
        {
            if (context.Worker >= 0)
            {
                closedCalls++;
            }
            else
            {
                openCalls++;
            }

            clock.Advance(TimeSpan.FromMilliseconds(10));
            return ValueTask.FromResult(StepResult.Ok);
        }, stats).WaitAsync(_testTimeout);

        Assert.Equal(5, closedCalls);
        Assert.Equal(10, openCalls);
        Assert.Equal(15, result.Calls);
    }

    [Fact]
    public async Task MaxCalls_StopsALongRunEarly()
    {
        var stats = new ScenarioStats("bounded");
        var scheduler = new LoadScheduler(new SchedulerOptions { MaxCalls = 20 }, TimeProvider.System);
        var model = LoadModel.Rate(1000, TimeSpan.FromHours(1));

        var result = await scheduler.RunAsync(model, (_, _) => ValueTask.FromResult(StepResult.Ok), stats).WaitAsync(_testTimeout);

        stats.TakeInterval();
        Assert.Equal(20, result.Calls);
        Assert.Equal(20, stats.Totals().Ok);
    }

    [Fact]
    public async Task Cancellation_StopsALongClosedRun()
    {
        using var stop = new CancellationTokenSource();
        var stats = new ScenarioStats("cancelled");
        var scheduler = new LoadScheduler(new SchedulerOptions(), TimeProvider.System);
        var model = LoadModel.Concurrency(4, TimeSpan.FromHours(1));
        var calls = 0;

        var run = scheduler.RunAsync(model, async (_, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 50)
            {
                await stop.CancelAsync();
            }

            await Task.Yield();
            return StepResult.Ok;
        }, stats, stop.Token);
        var result = await run.WaitAsync(_testTimeout);

        Assert.InRange(result.Calls, 50, 54);
        Assert.Equal(0, result.Abandoned);
    }

    [Fact]
    public async Task Drain_WhenCallsOutliveTheDrainTimeout_CancelsThemAndCountsThemCancelled()
    {
        var stats = new ScenarioStats("drain");
        var scheduler = new LoadScheduler(new SchedulerOptions { DrainTimeout = TimeSpan.FromMilliseconds(100) }, TimeProvider.System);
        var model = LoadModel.Rate(50, TimeSpan.FromMilliseconds(100));

        var result = await scheduler.RunAsync(model, async (_, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return StepResult.Ok;
        }, stats).WaitAsync(_testTimeout);

        stats.TakeInterval();
        var totals = stats.Totals();
        Assert.Equal(5, result.Calls);
        Assert.Equal(0, result.Abandoned);
        Assert.Equal(5, totals.Failed);
        Assert.Equal(5, totals.Errors["CANCELLED"]);
    }

    [Fact]
    public async Task Step_WhenItThrows_IsCountedByExceptionType()
    {
        var stats = new ScenarioStats("throws");
        var scheduler = new LoadScheduler(new SchedulerOptions(), TimeProvider.System);

        await scheduler.RunAsync(
            LoadModel.Rate(100, TimeSpan.FromMilliseconds(50)),
            (context, _) => context.Sequence % 2 == 0
                ? throw new InvalidOperationException("sync")
                : ValueTask.FromException<StepResult>(new TimeoutException("async")),
            stats).WaitAsync(_testTimeout);

        var interval = stats.TakeInterval();
        Assert.Equal(3, interval.Errors["EXCEPTION:InvalidOperationException"]);
        Assert.Equal(2, interval.Errors["EXCEPTION:TimeoutException"]);
        Assert.Equal(0, interval.Ok);
    }

    private static async Task PollUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + _testTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met before the deadline");
            await Task.Delay(5);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
