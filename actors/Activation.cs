using Microsoft.Extensions.Logging;

namespace Vehicles.Actors;

/// <summary>
/// One activation of a grain: its mailbox and its scheduler.
/// </summary>
/// <remarks>
/// <para>Scheduling: the activation is both a thread-pool work item and the <see cref="SynchronizationContext"/> installed
/// while grain code runs. Every await in grain code captures that context and posts its continuation back here, and the
/// work item runs queued continuations and messages one at a time, so grain code never runs on two threads at once while
/// different activations run in parallel on the pool. Orleans reaches the same guarantee with a per-activation
/// <see cref="TaskScheduler"/>; a synchronization context lets a message that completes synchronously run without
/// allocating and scheduling a Task per turn. The cost: <c>Task.Factory.StartNew</c> and
/// <c>ContinueWith</c> without an explicit scheduler run on the pool, like <c>Task.Run</c> and <c>ConfigureAwait(false)</c>.</para>
/// <para>Turns: a message starts only when the interleaving rules allow (see <see cref="CanStartLocked"/>); awaits inside
/// a running message do not let another one in unless the class is <see cref="ReentrantAttribute"/> or the message is
/// read-only or always-interleave. Continuations always run (they belong to messages already started).</para>
/// </remarks>
internal sealed class Activation : SynchronizationContext, IThreadPoolWorkItem
{
    private const int BatchSize = 64;

    private readonly ActorRuntime _runtime;
    private readonly Queue<GrainRequest> _mailbox = new();
    private Queue<GrainRequest>? _interleaved;
    private Queue<(SendOrPostCallback Callback, object? State)>? _continuations;
    private GrainRequest? _runningSingle;
    private List<GrainRequest>? _runningMore;
    private int _runningCount;
    private int _runningExclusive;
    private int _runningReadOnly;
    private Phase _phase;
    private bool _scheduled;
    private DeactivationReason? _deactivationRequest;
    private bool _deactivationOnlyIfIdle;
    private Grain? _grain;
    private List<GrainTimer>? _timers;
    private TaskCompletionSource? _deactivated;
    private long _keepAliveUntil;

    public Activation(ActorRuntime runtime, GrainClassInfo grainClass, GrainId grainId)
    {
        _runtime = runtime;
        GrainClass = grainClass;
        GrainId = grainId;
        LastUsed = runtime.CoarseNow;
    }

    private enum Phase
    {
        Created,
        Activating,
        Valid,
        Deactivating,
        Invalid,
    }

    public GrainId GrainId { get; }

    public GrainClassInfo GrainClass { get; }

    public ActorRuntime Runtime => _runtime;

    /// <summary>Queued plus running messages; read without the lock by the maintenance scan.</summary>
    public int InFlight { get; private set; }

    /// <summary>The runtime's coarse clock at the last message; drives idle collection.</summary>
    public long LastUsed { get; private set; }

    /// <summary>Deactivating, or asked to deactivate whatever comes (not merely an idle-collection candidate).</summary>
    public bool IsHandingOver
    {
        get
        {
            lock (_mailbox)
            {
                return _phase == Phase.Deactivating || (_deactivationRequest is not null && !_deactivationOnlyIfIdle);
            }
        }
    }

    /// <summary>Active with no deactivation pending (tests read it right after a maintenance tick decided).</summary>
    public bool IsStayingActive
    {
        get
        {
            lock (_mailbox)
            {
                return _phase == Phase.Valid && _deactivationRequest is null;
            }
        }
    }

    /// <summary>Adds a message; returns false when the activation is gone (the caller re-resolves) and throws nothing.</summary>
    public EnqueueResult Enqueue(GrainRequest request)
    {
        bool schedule;
        int depth;
        lock (_mailbox)
        {
            if (_phase == Phase.Invalid)
            {
                return EnqueueResult.Invalid;
            }

            request.Target = this;
            if ((request.Method.Options & GrainMethodOptions.AlwaysInterleave) != 0)
            {
                (_interleaved ??= new Queue<GrainRequest>()).Enqueue(request);
            }
            else
            {
                if (!request.IsSystem && _mailbox.Count >= _runtime.MailboxCapacity)
                {
                    return EnqueueResult.Full;
                }

                _mailbox.Enqueue(request);
            }

            depth = _mailbox.Count;
            InFlight++;
            if (!request.IsSystem)
            {
                LastUsed = _runtime.CoarseNow;
            }

            schedule = TryScheduleLocked();
        }

        _runtime.Metrics.RecordMailboxDepth(depth);
        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        }

        return EnqueueResult.Accepted;
    }

    /// <summary>Called by a request when the grain method it ran has completed (on any thread).</summary>
    public void OnRequestFinished(GrainRequest request)
    {
        bool schedule;
        lock (_mailbox)
        {
            if (ReferenceEquals(_runningSingle, request))
            {
                _runningSingle = null;
            }
            else
            {
                _runningMore?.Remove(request);
            }

            _runningCount--;
            var options = request.Method.Options;
            if ((options & GrainMethodOptions.AlwaysInterleave) == 0)
            {
                if ((options & GrainMethodOptions.ReadOnly) != 0)
                {
                    _runningReadOnly--;
                }
                else
                {
                    _runningExclusive--;
                }
            }

            InFlight--;
            if (!request.IsSystem)
            {
                LastUsed = _runtime.CoarseNow;
            }

            schedule = TryScheduleLocked();
        }

        _runtime.Metrics.RecordCallDuration(request.SentTimestamp);
        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <inheritdoc />
    public override void Post(SendOrPostCallback d, object? state)
    {
        bool schedule;
        lock (_mailbox)
        {
            (_continuations ??= new Queue<(SendOrPostCallback, object?)>()).Enqueue((d, state));
            schedule = !_scheduled;
            _scheduled = true;
        }

        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <inheritdoc />
    public override void Send(SendOrPostCallback d, object? state)
    {
        if (Current != this)
        {
            throw new NotSupportedException("Synchronous Send into a grain activation from outside it would block a thread; use Post or an async call.");
        }

        d(state);
    }

    /// <inheritdoc />
    public override SynchronizationContext CreateCopy() => this;

    /// <summary>Runs a batch of continuations and messages; re-queues itself to stay fair to other activations.</summary>
    public void Execute()
    {
        SetSynchronizationContext(this);
        try
        {
            for (var i = 0; i < BatchSize; i++)
            {
                if (!RunNext())
                {
                    return;
                }
            }

            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        finally
        {
            SetSynchronizationContext(null);
        }
    }

    public void RequestDeactivation(DeactivationReason reason, bool onlyIfIdle)
    {
        bool schedule;
        lock (_mailbox)
        {
            // An explicit request replaces a pending idle-collection one, which a new message could still cancel.
            if (_phase is Phase.Deactivating or Phase.Invalid || (_deactivationRequest is not null && !(_deactivationOnlyIfIdle && !onlyIfIdle)))
            {
                return;
            }

            if (onlyIfIdle && InFlight > 0)
            {
                return;
            }

            _deactivationRequest = reason;
            _deactivationOnlyIfIdle = onlyIfIdle;
            schedule = TryScheduleLocked();
        }

        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>Completes when the activation is gone.</summary>
    public Task WhenDeactivated()
    {
        lock (_mailbox)
        {
            if (_phase == Phase.Invalid)
            {
                return Task.CompletedTask;
            }

            return (_deactivated ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    public void DelayDeactivation(TimeSpan timeSpan)
    {
        var until = _runtime.CoarseNow + (long)timeSpan.TotalMilliseconds;
        lock (_mailbox)
        {
            _keepAliveUntil = Math.Max(_keepAliveUntil, until);
        }
    }

    /// <summary>Whether idle collection should deactivate this activation at coarse time <paramref name="now"/>.</summary>
    public bool IsIdle(long now, long collectionAgeMs)
    {
        lock (_mailbox)
        {
            return _phase == Phase.Valid && InFlight == 0 && now - LastUsed >= collectionAgeMs && now >= _keepAliveUntil;
        }
    }

    /// <summary>Collects the calls older than the timeout (queued or running) so the caller can fail them outside the lock.</summary>
    public void CollectExpired(long expiredBefore, List<GrainRequest> expired)
    {
        lock (_mailbox)
        {
            if (_runningSingle is { } single && single.SentAt < expiredBefore && !single.IsCompleted)
            {
                expired.Add(single);
            }

            if (_runningMore is not null)
            {
                foreach (var running in _runningMore)
                {
                    if (running.SentAt < expiredBefore && !running.IsCompleted)
                    {
                        expired.Add(running);
                    }
                }
            }

            CollectExpired(_mailbox, expiredBefore, expired);
            if (_interleaved is not null)
            {
                CollectExpired(_interleaved, expiredBefore, expired);
            }
        }
    }

    public IGrainTimer RegisterTimer(Func<object?, CancellationToken, Task> callback, object? state, GrainTimerCreationOptions options)
    {
        var timer = new GrainTimer(this, callback, state, options);
        lock (_mailbox)
        {
            if (_phase is Phase.Deactivating or Phase.Invalid)
            {
                throw new InvalidOperationException($"Grain {GrainId} is deactivating; it cannot register timers.");
            }

            (_timers ??= []).Add(timer);
        }

        timer.Start();
        return timer;
    }

    public void RemoveTimer(GrainTimer timer)
    {
        lock (_mailbox)
        {
            _timers?.Remove(timer);
        }
    }

    public void MarkUsed()
    {
        lock (_mailbox)
        {
            LastUsed = _runtime.CoarseNow;
        }
    }

    private static void CollectExpired(Queue<GrainRequest> queue, long expiredBefore, List<GrainRequest> expired)
    {
        foreach (var queued in queue)
        {
            if (queued.IsSystem)
            {
                continue;
            }

            if (queued.SentAt >= expiredBefore)
            {
                // Queued calls are in sending order, so the rest are younger.
                break;
            }

            if (!queued.IsCompleted)
            {
                expired.Add(queued);
            }
        }
    }

    /// <summary>Takes and runs one item; false when nothing can run now (the work item then ends).</summary>
    private bool RunNext()
    {
        SendOrPostCallback? callback = null;
        object? callbackState = null;
        GrainRequest? request = null;
        var action = Work.None;
        lock (_mailbox)
        {
            if (_deactivationOnlyIfIdle && InFlight > 0)
            {
                // Idle collection lost the race with a new message: the grain is not idle after all.
                _deactivationRequest = null;
                _deactivationOnlyIfIdle = false;
            }

            if (_continuations is { Count: > 0 })
            {
                (callback, callbackState) = _continuations.Dequeue();
                action = Work.Continuation;
            }
            else if (_phase == Phase.Created)
            {
                if (_deactivationRequest is { ReasonCode: DeactivationReasonCode.ShuttingDown or DeactivationReasonCode.PlacementChanged })
                {
                    _phase = Phase.Deactivating;
                    action = Work.Finalize;
                }
                else
                {
                    _phase = Phase.Activating;
                    action = Work.Activate;
                }
            }
            else if (_phase == Phase.Valid && _deactivationRequest is not null && _runningCount == 0)
            {
                _phase = Phase.Deactivating;
                action = Work.Deactivate;
            }
            else if (_phase == Phase.Valid && TryTakeStartableLocked(out request))
            {
                action = Work.Request;
            }
            else
            {
                _scheduled = false;
                return false;
            }
        }

        switch (action)
        {
            case Work.Continuation:
                RunContinuation(callback!, callbackState);
                break;
            case Work.Request:
                request!.Start(_grain!);
                break;
            case Work.Activate:
                _ = ActivateAsync();
                break;
            case Work.Deactivate:
                _ = DeactivateAsync(_deactivationRequest!.Value);
                break;
            case Work.Finalize:
                FinishDeactivation(null);
                break;
        }

        return true;
    }

    private void RunContinuation(SendOrPostCallback callback, object? state)
    {
        try
        {
            callback(state);
        }
        catch (Exception ex)
        {
            // Await continuations catch their own exceptions; this is a raw Post from grain code.
            _runtime.Logger.LogError(ex, "A callback posted to grain {GrainId} threw", GrainId);
        }
    }

    private bool TryTakeStartableLocked(out GrainRequest? request)
    {
        while (true)
        {
            if (_interleaved is { Count: > 0 })
            {
                request = _interleaved.Dequeue();
            }
            else if (_mailbox.Count > 0 && CanStartLocked(_mailbox.Peek()))
            {
                request = _mailbox.Dequeue();
            }
            else
            {
                request = null;
                return false;
            }

            if (request.IsCompleted)
            {
                // Timed out while queued: the caller has its answer already, so the message is dropped.
                InFlight--;
                continue;
            }

            if (_runningSingle is null)
            {
                _runningSingle = request;
            }
            else
            {
                (_runningMore ??= []).Add(request);
            }

            _runningCount++;
            var options = request.Method.Options;
            if ((options & GrainMethodOptions.AlwaysInterleave) == 0)
            {
                if ((options & GrainMethodOptions.ReadOnly) != 0)
                {
                    _runningReadOnly++;
                }
                else
                {
                    _runningExclusive++;
                }
            }

            return true;
        }
    }

    /// <summary>The interleaving rules, as in Orleans.</summary>
    private bool CanStartLocked(GrainRequest request)
    {
        if (_runningCount == 0 || GrainClass.IsReentrant)
        {
            return true;
        }

        var options = request.Method.Options;
        if ((options & GrainMethodOptions.AlwaysInterleave) != 0)
        {
            return true;
        }

        if ((options & GrainMethodOptions.ReadOnly) != 0)
        {
            return _runningExclusive == 0;
        }

        return _runningExclusive == 0 && _runningReadOnly == 0;
    }

    private bool TryScheduleLocked()
    {
        if (_scheduled || !HasRunnableWorkLocked())
        {
            return false;
        }

        _scheduled = true;
        return true;
    }

    private bool HasRunnableWorkLocked() => _phase switch
    {
        Phase.Created => true,
        Phase.Valid => (_deactivationRequest is not null && _runningCount == 0)
            || _interleaved is { Count: > 0 }
            || (_mailbox.Count > 0 && CanStartLocked(_mailbox.Peek())),
        _ => _continuations is { Count: > 0 },
    };

    private async Task ActivateAsync()
    {
        try
        {
            // The runtime's stopping token rather than a timer per activation: a timer costs more than the rest of an
            // activation, and a million vehicles waking up after a restart should not pay for it.
            var cancellation = _runtime.Stopping;
            if (_runtime.ActivationGate is { } gate)
            {
                await gate.BeforeActivateAsync(GrainId, cancellation);
            }

            _grain = GrainClass.Create(this, _runtime.Services, _runtime.StateSerializer, out var states);
            foreach (var state in states)
            {
                await state.ReadStateAsync(cancellation);
            }

            await _grain.OnActivateAsync(cancellation);
        }
        catch (Exception ex)
        {
            _runtime.Logger.LogWarning(ex, "Activation of grain {GrainId} failed", GrainId);
            lock (_mailbox)
            {
                _phase = Phase.Deactivating;
            }

            FinishDeactivation(ex);
            return;
        }

        lock (_mailbox)
        {
            _phase = Phase.Valid;
        }

        _runtime.OnActivated();
    }

    private async Task DeactivateAsync(DeactivationReason reason)
    {
        GrainTimer[] timers;
        lock (_mailbox)
        {
            timers = _timers is null ? [] : [.. _timers];
        }

        foreach (var timer in timers)
        {
            timer.Dispose();
        }

        try
        {
            using var timeout = new CancellationTokenSource(_runtime.Options.DeactivationTimeout, _runtime.TimeProvider);
            await _grain!.OnDeactivateAsync(reason, timeout.Token);
        }
        catch (Exception ex)
        {
            _runtime.Logger.LogWarning(ex, "OnDeactivateAsync of grain {GrainId} threw", GrainId);
        }

        _runtime.OnDeactivated();
        FinishDeactivation(null);
    }

    /// <summary>Leaves the directory, then hands the messages that never started to a new activation (or fails them).</summary>
    private void FinishDeactivation(Exception? activationError)
    {
        // Removing from the directory before turning Invalid means a sender that still sees this activation enqueues
        // here and is forwarded below, and one that sees Invalid finds the directory already clear.
        _runtime.RemoveActivation(this);
        List<GrainRequest> leftovers = [];
        TaskCompletionSource? deactivated;
        lock (_mailbox)
        {
            _phase = Phase.Invalid;
            leftovers.AddRange(_mailbox);
            _mailbox.Clear();
            if (_interleaved is not null)
            {
                leftovers.AddRange(_interleaved);
                _interleaved.Clear();
            }

            InFlight = 0;
            deactivated = _deactivated;
        }

        foreach (var request in leftovers)
        {
            if (request.IsCompleted)
            {
                continue;
            }

            if (activationError is not null)
            {
                request.TrySetException(activationError);
            }
            else if (!request.IsForwardable)
            {
                request.TrySetException(new InvalidOperationException($"Grain {GrainId} was deactivated before the message ran."));
            }
            else
            {
                _runtime.Forward(GrainClass, GrainId.Key, request);
            }
        }

        deactivated?.TrySetResult();
    }

    private enum Work
    {
        None,
        Continuation,
        Request,
        Activate,
        Deactivate,
        Finalize,
    }
}

/// <summary>The outcome of <see cref="Activation.Enqueue"/>.</summary>
internal enum EnqueueResult
{
    Accepted,
    Full,
    Invalid,
}
