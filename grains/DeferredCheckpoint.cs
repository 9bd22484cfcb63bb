namespace Vehicles.Grains;

/// <summary>
/// Coalesces a grain's state changes into one write per interval: the first change after a write arms a one-shot
/// grain timer, and the tick writes if anything is still unsaved. A failed write leaves the state dirty; a failed
/// tick reports the error and arms the timer again.
/// </summary>
/// <param name="interval">How long after the first unsaved change the write happens.</param>
/// <param name="registerTimer">The owning grain's <c>RegisterGrainTimer</c> (callback, due time, period).</param>
/// <param name="write">Writes the grain's state.</param>
/// <param name="onTickFailed">Told of a failed timed write (the caller logs it); the write is retried after <paramref name="interval"/>.</param>
internal sealed class DeferredCheckpoint(
    TimeSpan interval,
    Func<Func<CancellationToken, Task>, TimeSpan, TimeSpan, IGrainTimer> registerTimer,
    Func<CancellationToken, Task> write,
    Action<Exception> onTickFailed)
{
    private bool _armed;
    private IGrainTimer? _timer;

    /// <summary>Whether a change has not been written yet.</summary>
    public bool IsDirty { get; private set; }

    /// <summary>Records an unsaved change and arms the timer unless it already is.</summary>
    public void MarkDirty()
    {
        IsDirty = true;
        if (_armed)
        {
            return;
        }

        _armed = true;
        if (_timer is null)
        {
            _timer = registerTimer(OnTickAsync, interval, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(interval, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Writes now; the state is dirty again if the write fails, and the error reaches the caller.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken)
    {
        IsDirty = false;
        try
        {
            await write(cancellationToken);
        }
        catch
        {
            IsDirty = true;
            throw;
        }
    }

    private async Task OnTickAsync(CancellationToken cancellationToken)
    {
        _armed = false;
        if (!IsDirty)
        {
            return;
        }

        try
        {
            await WriteAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            onTickFailed(ex);
            MarkDirty();
        }
    }
}
