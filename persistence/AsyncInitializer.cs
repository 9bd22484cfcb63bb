namespace Vehicles.Persistence;

/// <summary>
/// Runs a store's start-up work once, on first use or at host start, whichever comes first. A failed
/// attempt is forgotten so that the next call tries again (the database may come up later than the silo).
/// </summary>
internal sealed class AsyncInitializer(Func<CancellationToken, Task> initialize)
{
    private readonly Lock _lock = new();
    private Task? _task;
    private volatile bool _done;

    public bool IsInitialized => _done;

    public Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return Task.CompletedTask;
        }

        Task task;
        lock (_lock)
        {
            if (_task is null || _task.IsFaulted || _task.IsCanceled)
            {
                // The shared attempt must not die with one caller's token; each caller still stops waiting on its own.
                _task = RunAsync();
            }

            task = _task;
        }

        return task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        await initialize(CancellationToken.None);
        _done = true;
    }
}
