using System.Diagnostics;

namespace Vehicles.LoadTest;

/// <content>The state and logic of one scheduler run.</content>
public sealed partial class LoadScheduler
{
    private sealed class Run : IDisposable
    {
        private readonly LoadScheduler _owner;
        private readonly LoadStep _step;
        private readonly ScenarioStats _stats;
        private readonly CancellationTokenSource _cancel;
        private readonly CancellationTokenSource _stopDispatch;
        private readonly PlannedStage[] _timeline;
        private readonly long _start;
        private readonly long _warmUpEnd;
        private readonly long _lateAfterTicks;
        private readonly long _maxCalls;
        private readonly List<Task> _workers = [];
        private readonly Worker?[] _slots;
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _workerExited = new(0);
        private long _sequence;
        private int _runningWorkers;
        private long _lastEnd;
        private long _abandoned;
        private volatile bool _dispatchDone;
        private readonly CancellationToken _callerToken;

        public Run(LoadScheduler owner, LoadModel model, LoadStep step, ScenarioStats stats, CancellationToken cancellationToken)
        {
            _owner = owner;
            _step = step;
            _stats = stats;
            _callerToken = cancellationToken;
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // Stops the dispatcher's waits, not the calls in flight: fired by the caller or when MaxCalls is reached.
            _stopDispatch = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token);
            _maxCalls = owner._options.MaxCalls ?? long.MaxValue;
            var time = owner._time;
            _lateAfterTicks = ToTicks(owner._options.LateAfter, time);
            _start = time.GetTimestamp();
            _warmUpEnd = _start + ToTicks(model.WarmUp, time);

            var stages = new List<PlannedStage>();
            var offset = _start;
            foreach (var (stage, isWarmUp) in model.Timeline())
            {
                var end = offset + ToTicks(stage.Duration, time);
                stages.Add(new PlannedStage(stage, offset, end, isWarmUp));
                offset = end;
            }

            _timeline = [.. stages];
            _lastEnd = offset;
            var maxConcurrency = model.Stages.OfType<ConstantConcurrency>().Select(s => s.Concurrency).DefaultIfEmpty(0).Max();
            _slots = new Worker?[maxConcurrency];
        }

        private TimeProvider Time => _owner._time;

        public async Task<SchedulerResult> ExecuteAsync()
        {
            var token = _stopDispatch.Token;
            try
            {
                foreach (var planned in _timeline)
                {
                    if (token.IsCancellationRequested || CallsExhausted)
                    {
                        break;
                    }

                    if (planned.Stage is ConstantConcurrency closed)
                    {
                        await RunClosedStageAsync(planned, closed.Concurrency, token);
                    }
                    else
                    {
                        await DispatchOpenStageAsync(planned, token);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Stopped by the caller or by MaxCalls: fall through to draining what is in flight.
            }

            // A run stopped early is measured up to now, not up to its planned end.
            Volatile.Write(ref _lastEnd, Math.Min(Volatile.Read(ref _lastEnd), Time.GetTimestamp()));
            _dispatchDone = true;
            var abandoned = await DrainAsync();
            _abandoned = abandoned;
            var end = Math.Max(Volatile.Read(ref _lastEnd), _warmUpEnd);
            var measured = Time.GetElapsedTime(_warmUpEnd, Math.Max(end, _warmUpEnd)).TotalSeconds;
            return new SchedulerResult(Math.Min(Volatile.Read(ref _sequence), _maxCalls), measured, abandoned);
        }

        private bool CallsExhausted => Volatile.Read(ref _sequence) >= _maxCalls;

        private long? NextSequence()
        {
            var sequence = Interlocked.Increment(ref _sequence) - 1;
            if (sequence < _maxCalls)
            {
                return sequence;
            }

            _stopDispatch.Cancel();
            return null;
        }

        private async Task DispatchOpenStageAsync(PlannedStage planned, CancellationToken token)
        {
            var frequency = (double)Time.TimestampFrequency;
            var durationSeconds = (planned.End - planned.Start) / frequency;
            var (from, to) = planned.Stage switch
            {
                ConstantRate r => (r.RatePerSecond, r.RatePerSecond),
                RampingRate r => (r.FromRate, r.ToRate),
                _ => throw new UnreachableException(),
            };

            for (long k = 0; ; k++)
            {
                var offsetSeconds = ArrivalSchedule.ArrivalTime(from, to, durationSeconds, k);
                if (offsetSeconds is not { } seconds || token.IsCancellationRequested)
                {
                    break;
                }

                var intended = planned.Start + (long)(seconds * frequency);
                var now = Time.GetTimestamp();
                if (intended > now)
                {
                    await DelayUntilAsync(intended, token);
                    now = Time.GetTimestamp();
                }

                if (NextSequence() is not { } sequence)
                {
                    break;
                }

                var warmUp = intended < _warmUpEnd;
                if (_stats.InFlight >= _owner._options.MaxInFlight)
                {
                    if (!warmUp)
                    {
                        _stats.RecordDropped();
                    }

                    continue;
                }

                if (!warmUp && now - intended > _lateAfterTicks)
                {
                    _stats.RecordLate();
                }

                // Not awaited: arrivals do not wait for earlier calls. AwaitCallAsync never faults.
                _ = StartCall(new StepContext(sequence, -1), intended, warmUp, _cancel.Token);
            }

            if (!CallsExhausted)
            {
                await DelayUntilAsync(planned.End, token);
            }
        }

        private async Task RunClosedStageAsync(PlannedStage planned, int concurrency, CancellationToken token)
        {
            for (var i = 0; i < concurrency; i++)
            {
                var worker = _slots[i] ??= new Worker(i);
                if (Interlocked.CompareExchange(ref worker.Running, 1, 0) == 0)
                {
                    Interlocked.Increment(ref _runningWorkers);
                    lock (_workers)
                    {
                        _workers.Add(Task.Run(() => WorkerLoopAsync(worker), CancellationToken.None));
                    }
                }
            }

            // The stage ends at its planned end, or as soon as every worker has left it: workers end by the clock
            // themselves, and a clock that stops with them (a test's) must not leave the dispatcher waiting.
            using var stage = CancellationTokenSource.CreateLinkedTokenSource(token);
            var delay = DelayUntilAsync(planned.End, stage.Token);
            while (!delay.IsCompleted
                && !(Volatile.Read(ref _runningWorkers) == 0 && Time.GetTimestamp() >= planned.End))
            {
                await Task.WhenAny(delay, _workerExited.WaitAsync(stage.Token));
            }

            await stage.CancelAsync();
            try
            {
                await delay;
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                // Ended because the workers left it; the timer is no longer needed.
            }
        }

        private async Task WorkerLoopAsync(Worker worker)
        {
            var token = _cancel.Token;
            while (true)
            {
                while (IsSlotActive(worker.Index) && !IsCancelled(token))
                {
                    if (NextSequence() is not { } sequence)
                    {
                        break;
                    }

                    var start = Time.GetTimestamp();
                    var call = StartCall(new StepContext(sequence, worker.Index), start, start < _warmUpEnd, token);
                    if (call.IsCompleted)
                    {
                        // A step that completes synchronously would keep this thread forever: let the pool's
                        // other work (other workers, the sampling timer) run now and then.
                        if (++worker.SynchronousCalls % SynchronousCallsBeforeYield == 0)
                        {
                            await Task.Yield();
                        }
                    }
                    else
                    {
                        await call;
                    }
                }

                Interlocked.Decrement(ref _runningWorkers);
                Volatile.Write(ref worker.Running, 0);
                _workerExited.Release();
                // The dispatcher may have started this slot's next stage between the check above and the write:
                // whoever wins the exchange runs the slot, so it is never left empty nor run twice.
                if (!IsSlotActive(worker.Index) || IsCancelled(token) || CallsExhausted
                    || Interlocked.CompareExchange(ref worker.Running, 1, 0) != 0)
                {
                    return;
                }

                Interlocked.Increment(ref _runningWorkers);
            }
        }

        // The linked source learns of the caller's cancellation through a callback, which CancelAsync runs later:
        // workers look at the caller's token too, so that they stop at once.
        private bool IsCancelled(CancellationToken token) => token.IsCancellationRequested || _callerToken.IsCancellationRequested;

        private bool IsSlotActive(int index)
        {
            if (_dispatchDone)
            {
                return false;
            }

            var now = Time.GetTimestamp();
            foreach (var planned in _timeline)
            {
                if (now < planned.End)
                {
                    return now >= planned.Start && planned.Stage is ConstantConcurrency c && index < c.Concurrency;
                }
            }

            return false;
        }

        private Task StartCall(StepContext context, long startTimestamp, bool warmUp, CancellationToken token)
        {
            _stats.CallStarted();
            ValueTask<StepResult> pending;
            try
            {
                pending = _step(context, token);
            }
            catch (Exception exception)
            {
                Complete(StepResult.Fail(StatusOf(exception, token)), startTimestamp, warmUp);
                return Task.CompletedTask;
            }

            if (pending.IsCompletedSuccessfully)
            {
                Complete(pending.Result, startTimestamp, warmUp);
                return Task.CompletedTask;
            }

            return AwaitCallAsync(pending, startTimestamp, warmUp, token);
        }

        private async Task AwaitCallAsync(ValueTask<StepResult> pending, long startTimestamp, bool warmUp, CancellationToken token)
        {
            StepResult result;
            try
            {
                result = await pending;
            }
            catch (Exception exception)
            {
                result = StepResult.Fail(StatusOf(exception, token));
            }

            Complete(result, startTimestamp, warmUp);
        }

        private void Complete(StepResult result, long startTimestamp, bool warmUp)
        {
            var now = Time.GetTimestamp();
            if (warmUp)
            {
                _stats.RecordWarmUp();
            }
            else
            {
                _stats.Record(result, Time.GetElapsedTime(startTimestamp, now).Ticks / 10);
            }

            if (_dispatchDone)
            {
                InterlockedMax(ref _lastEnd, now);
            }

            if (_stats.CallEnded() == 0 && _dispatchDone)
            {
                _drained.TrySetResult();
            }
        }

        private async Task<long> DrainAsync()
        {
            Task[] workers;
            lock (_workers)
            {
                workers = [.. _workers];
            }

            var allDone = Task.WhenAll(Task.WhenAll(workers), _drained.Task);
            if (_stats.InFlight == 0)
            {
                _drained.TrySetResult();
            }

            if (await WaitAsync(allDone, _owner._options.DrainTimeout))
            {
                return 0;
            }

            // Calls outlived the drain time: cancel them, and give them a short grace to notice.
            await _cancel.CancelAsync();
            return await WaitAsync(allDone, _abandonGrace) ? 0 : _stats.InFlight;
        }

        private async Task<bool> WaitAsync(Task task, TimeSpan timeout)
        {
            using var timer = new CancellationTokenSource(timeout, Time);
            try
            {
                await task.WaitAsync(timer.Token);
                return true;
            }
            catch (OperationCanceledException) when (timer.IsCancellationRequested)
            {
                return false;
            }
        }

        private async Task DelayUntilAsync(long timestamp, CancellationToken token)
        {
            var remaining = Time.GetElapsedTime(Time.GetTimestamp(), timestamp);
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(remaining, Time, token);
            }
        }

        private static string StatusOf(Exception exception, CancellationToken token) =>
            exception is OperationCanceledException && token.IsCancellationRequested
                ? "CANCELLED"
                : "EXCEPTION:" + exception.GetType().Name;

        private static long ToTicks(TimeSpan span, TimeProvider time) =>
            (long)(span.TotalSeconds * time.TimestampFrequency);

        private static void InterlockedMax(ref long target, long value)
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

        public void Dispose()
        {
            if (_abandoned > 0)
            {
                // Abandoned calls may still use the tokens; leave the sources to the garbage collector.
                return;
            }

            _stopDispatch.Dispose();
            _cancel.Dispose();
            _workerExited.Dispose();
        }

        private sealed record PlannedStage(LoadStage Stage, long Start, long End, bool IsWarmUp);

        private sealed class Worker(int index)
        {
            public int Running;

            public long SynchronousCalls;

            public int Index { get; } = index;
        }
    }
}
