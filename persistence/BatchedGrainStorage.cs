using Microsoft.Extensions.Logging;

namespace Vehicles.Persistence;

/// <summary>
/// What both storage providers share: argument checks, initialization on first use, and the queue that
/// coalesces writes and clears from many grains into batches (<see cref="WriteBatcher"/>). A provider supplies
/// its schema set-up, its read, and how one batch goes to its database.
/// </summary>
public abstract class BatchedGrainStorage : IGrainStorage, IStorageInitializer, IAsyncDisposable, IDisposable
{
    private readonly AsyncInitializer _initializer;
    private readonly WriteBatcher _batcher;
    private int _disposed;

    private protected BatchedGrainStorage(GrainStorageOptions options, int maxConcurrentBatches, ILogger logger)
    {
        // Both delegates run only after the derived constructor has finished (first use at the earliest).
        _initializer = new AsyncInitializer(InitializeCoreAsync);
        _batcher = new WriteBatcher(ExecuteBatchAsync, options.MaxBatchSize, maxConcurrentBatches, logger, options.MaxBatchBytes);
    }

    /// <summary>How many writes and clears went to the database, in how many batches.</summary>
    public WriteBatchStatistics WriteStatistics => _batcher.Statistics;

    /// <summary>Creates the schema and brings it up to date. Idempotent; also runs on first use.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _initializer.EnsureAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<StoredState?> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default)
    {
        await EnterAsync(grainType, grainKey, cancellationToken);
        return await ReadCoreAsync(grainType, grainKey, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<string> WriteAsync(string grainType, string grainKey, ReadOnlyMemory<byte> data, string? expectedEtag, CancellationToken cancellationToken = default)
    {
        await EnterAsync(grainType, grainKey, cancellationToken);
        var etag = await _batcher.EnqueueAsync(GrainWrite.Write(grainType, grainKey, data, expectedEtag, cancellationToken));
        return etag!;
    }

    /// <inheritdoc />
    public async Task ClearAsync(string grainType, string grainKey, string? expectedEtag, CancellationToken cancellationToken = default)
    {
        await EnterAsync(grainType, grainKey, cancellationToken);
        await _batcher.EnqueueAsync(GrainWrite.Clear(grainType, grainKey, expectedEtag, cancellationToken));
    }

    /// <summary>
    /// Disposes synchronously, blocking until <see cref="DisposeAsync"/> finishes; for containers disposed
    /// with <c>Dispose</c>. Prefer <see cref="DisposeAsync"/>.
    /// </summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <summary>Completes every accepted write, then releases what the provider holds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _batcher.DisposeAsync();
        await CloseAsync();
        GC.SuppressFinalize(this);
    }

    private protected abstract Task InitializeCoreAsync(CancellationToken cancellationToken);

    private protected abstract Task<StoredState?> ReadCoreAsync(string grainType, string grainKey, CancellationToken cancellationToken);

    private protected abstract Task ExecuteBatchAsync(IReadOnlyList<GrainWrite> operations, CancellationToken cancellationToken);

    /// <summary>Releases the provider's connections once every accepted write has completed.</summary>
    private protected abstract ValueTask CloseAsync();

    private ValueTask EnterAsync(string grainType, string grainKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grainType);
        ArgumentNullException.ThrowIfNull(grainKey);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _initializer.IsInitialized ? ValueTask.CompletedTask : new ValueTask(_initializer.EnsureAsync(cancellationToken));
    }
}
