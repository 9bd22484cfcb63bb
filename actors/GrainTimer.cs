using Microsoft.Extensions.Logging;

namespace Vehicles.Actors;

/// <summary>
/// A grain timer: a one-shot <see cref="ITimer"/> re-armed after each tick completes, so ticks never overlap; each tick is
/// delivered to the activation as a message (a turn) and is dropped when the activation is gone.
/// </summary>
internal sealed class GrainTimer : IGrainTimer
{
    private static readonly GrainMethodDescriptor _tick = new(typeof(Grain), -1, "TimerTick", GrainMethodOptions.None, [], typeof(void));
    private static readonly GrainMethodDescriptor _interleavingTick = new(typeof(Grain), -1, "TimerTick", GrainMethodOptions.AlwaysInterleave, [], typeof(void));

    private readonly Lock _gate = new();
    private readonly Activation _activation;
    private readonly Func<object?, CancellationToken, Task> _callback;
    private readonly object? _state;
    private readonly GrainTimerCreationOptions _options;
    private readonly CancellationTokenSource _disposed = new();
    private ITimer? _timer;
    private TimeSpan _dueTime;
    private TimeSpan _period;
    private bool _ticking;
    private bool _changedWhileTicking;

    public GrainTimer(Activation activation, Func<object?, CancellationToken, Task> callback, object? state, GrainTimerCreationOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DueTime, Timeout.InfiniteTimeSpan);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Period, Timeout.InfiniteTimeSpan);
        _activation = activation;
        _callback = callback;
        _state = state;
        _options = options;
        _dueTime = options.DueTime;
        _period = options.Period;
    }

    public void Start()
    {
        lock (_gate)
        {
            _timer = _activation.Runtime.TimeProvider.CreateTimer(static s => ((GrainTimer)s!).OnTimer(), this, _dueTime, Timeout.InfiniteTimeSpan);
        }
    }

    public void Change(TimeSpan dueTime, TimeSpan period)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, Timeout.InfiniteTimeSpan);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            _dueTime = dueTime;
            _period = period;
            if (_ticking)
            {
                // Re-armed when the running tick completes: ticks never overlap.
                _changedWhileTicking = true;
                return;
            }

            _timer?.Change(dueTime, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }

            _disposed.Cancel();
            _timer?.Dispose();
        }

        _activation.RemoveTimer(this);
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            if (_disposed.IsCancellationRequested || _ticking)
            {
                return;
            }

            _ticking = true;
        }

        var tick = new TimerTickRequest(this) { IsSystem = true, IsForwardable = false, SentAt = long.MaxValue };
        if (_activation.Enqueue(tick) != EnqueueResult.Accepted)
        {
            Dispose();
        }
    }

    private async ValueTask RunTickAsync()
    {
        try
        {
            if (_options.KeepAlive)
            {
                _activation.MarkUsed();
            }

            await _callback(_state, _disposed.Token);
        }
        catch (Exception ex) when (!_disposed.IsCancellationRequested)
        {
            _activation.Runtime.Logger.LogWarning(ex, "A timer callback of grain {GrainId} threw", _activation.GrainId);
        }
        catch (OperationCanceledException)
        {
            // Disposed during the tick.
        }
        finally
        {
            lock (_gate)
            {
                _ticking = false;
                if (!_disposed.IsCancellationRequested)
                {
                    var next = _changedWhileTicking ? _dueTime : _period;
                    _changedWhileTicking = false;
                    _timer?.Change(next, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    private sealed class TimerTickRequest(GrainTimer timer) : GrainVoidRequest
    {
        public override GrainMethodDescriptor Method => timer._options.Interleave ? _interleavingTick : _tick;

        public override object? GetArgument(int index) => throw new ArgumentOutOfRangeException(nameof(index));

        public override void SetArgument(int index, object? value) => throw new ArgumentOutOfRangeException(nameof(index));

        protected override ValueTask InvokeCore(object grain) => timer.RunTickAsync();
    }
}
