using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Vehicles.Storage;

/// <summary>
/// Coalesces writes and clears from many grains into batches run by a background dispatcher.
/// </summary>
/// <remarks>
/// There is no linger: when a batch slot is free, whatever is queued goes at once (a lone write travels
/// alone), and while every slot is busy new operations pile up and leave together as the next batch, so
/// batches grow with load. A grain key is in at most one batch at a time: a second operation on a key
/// whose batch is in flight waits for that batch, which keeps per-key order and keeps two batches from
/// locking the same rows. An operation's task completes only after its batch has committed.
/// </remarks>
internal sealed class WriteBatcher : IAsyncDisposable
{
    /// <summary>Runs one batch in one transaction (or round trip) and records each operation's outcome.</summary>
    public delegate Task ExecuteBatch(IReadOnlyList<GrainWrite> batch, CancellationToken cancellationToken);

    private readonly Channel<GrainWrite> _queue = Channel.CreateUnbounded<GrainWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ExecuteBatch _execute;
    private readonly int _maxBatchSize;
    private readonly long _maxBatchBytes;
    private readonly SemaphoreSlim _slots;
    private readonly ILogger _logger;
    private readonly Lock _keysLock = new();
    private readonly HashSet<(string, string)> _keysInFlight = [];
    private readonly Dictionary<(string, string), List<GrainWrite>> _waitingForKey = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _dispatcher;
    private long _pending;
    private volatile bool _disposing;
    private int _disposed;

    public WriteBatcher(ExecuteBatch execute, int maxBatchSize, int maxConcurrentBatches, ILogger logger, long maxBatchBytes = long.MaxValue)
    {
        _execute = execute;
        _maxBatchSize = maxBatchSize;
        _maxBatchBytes = maxBatchBytes;
        _slots = new SemaphoreSlim(maxConcurrentBatches, maxConcurrentBatches);
        _logger = logger;
        _dispatcher = Task.Run(DispatchAsync);
    }

    public WriteBatchStatistics Statistics { get; } = new();

    public Task<string?> EnqueueAsync(GrainWrite operation)
    {
        if (operation.CancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<string?>(operation.CancellationToken);
        }

        // Count first, then look at the flag: DisposeAsync sets the flag, then looks at the count, so either
        // this call backs out or DisposeAsync waits for this operation.
        Interlocked.Increment(ref _pending);
        if (_disposing)
        {
            OnOperationDone();
            throw new ObjectDisposedException(nameof(WriteBatcher), "The grain storage has been disposed.");
        }

        _queue.Writer.TryWrite(operation);
        return operation.Task;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _disposing = true;
        if (Interlocked.Read(ref _pending) == 0)
        {
            _drained.TrySetResult();
        }

        // Every accepted operation is carried out before the storage closes: a grain deactivating at
        // shutdown still gets its last write.
        await _drained.Task;
        await _stop.CancelAsync();
        try
        {
            await _dispatcher;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _slots.Dispose();
    }

    private async Task DispatchAsync()
    {
        var reader = _queue.Reader;
        var token = _stop.Token;
        while (true)
        {
            await _slots.WaitAsync(token);
            await reader.WaitToReadAsync(token);
            var batch = TakeBatch(reader);
            if (batch.Count == 0)
            {
                _slots.Release();
                continue;
            }

            _ = RunBatchAsync(batch);
        }
    }

    private List<GrainWrite> TakeBatch(ChannelReader<GrainWrite> reader)
    {
        var batch = new List<GrainWrite>(Math.Min(_maxBatchSize, reader.CanCount ? Math.Max(reader.Count, 1) : 16));
        List<GrainWrite>? cancelled = null;
        long bytes = 0;
        lock (_keysLock)
        {
            // The byte budget bounds the statement's size when states are large; a batch always takes at least one.
            while (batch.Count < _maxBatchSize
                && reader.TryPeek(out var next)
                && (batch.Count == 0 || bytes + next.Size <= _maxBatchBytes)
                && reader.TryRead(out var operation))
            {
                if (operation.CancellationToken.IsCancellationRequested)
                {
                    (cancelled ??= []).Add(operation);
                }
                else if (_keysInFlight.Add(operation.Key))
                {
                    batch.Add(operation);
                    bytes += operation.Size;
                }
                else
                {
                    // Same key as an operation in flight or already in this batch: it goes after that one.
                    if (!_waitingForKey.TryGetValue(operation.Key, out var waiting))
                    {
                        _waitingForKey[operation.Key] = waiting = [];
                    }

                    waiting.Add(operation);
                }
            }
        }

        if (cancelled is not null)
        {
            foreach (var operation in cancelled)
            {
                operation.Cancel();
                OnOperationDone();
            }
        }

        return batch;
    }

    private async Task RunBatchAsync(List<GrainWrite> batch)
    {
        // Started inline by the dispatcher, with no extra thread hop: an async provider returns at its first
        // I/O, and a synchronous one (SQLite, one slot) holds the dispatcher only while it would wait for the
        // slot anyway.
        Exception? failure = null;
        try
        {
            await _execute(batch, CancellationToken.None);
        }
        catch (Exception exception)
        {
            failure = exception;
            _logger.LogError(exception, "A batch of {Count} grain state operations failed", batch.Count);
        }

        Statistics.Record(batch.Count);

        // Keys and the slot are freed before callers resume, so a grain's next write can join the next batch.
        ReleaseKeys(batch);
        _slots.Release();
        foreach (var operation in batch)
        {
            if (failure is null)
            {
                operation.Complete();
            }
            else
            {
                operation.Fail(failure);
            }

            OnOperationDone();
        }
    }

    private void ReleaseKeys(List<GrainWrite> batch)
    {
        lock (_keysLock)
        {
            foreach (var operation in batch)
            {
                _keysInFlight.Remove(operation.Key);
                if (_waitingForKey.Remove(operation.Key, out var waiting))
                {
                    foreach (var next in waiting)
                    {
                        _queue.Writer.TryWrite(next);
                    }
                }
            }
        }
    }

    private void OnOperationDone()
    {
        if (Interlocked.Decrement(ref _pending) == 0 && _disposing)
        {
            _drained.TrySetResult();
        }
    }
}
