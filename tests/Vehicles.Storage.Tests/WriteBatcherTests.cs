using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;

namespace Vehicles.Storage.Tests;

/// <summary>The coalescing queue on its own, with a fake database whose batches the test holds and releases.</summary>
public sealed class WriteBatcherTests
{
    private static readonly TimeSpan _deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task EnqueueAsync_WhenIdle_SendsALoneWriteAtOnce()
    {
        var database = new FakeDatabase();
        await using var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 100, maxConcurrentBatches: 1, NullLogger.Instance);

        var etag = await batcher.EnqueueAsync(Write("VIN1")).WaitAsync(_deadline);

        Assert.Equal("1", etag);
        Assert.Equal([1], database.BatchSizes);
    }

    [Fact]
    public async Task EnqueueAsync_WhileBatchInFlight_LaterWritesLeaveTogetherAsNextBatch()
    {
        var database = new FakeDatabase { HoldFirstBatch = true };
        await using var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 100, maxConcurrentBatches: 1, NullLogger.Instance);
        var first = batcher.EnqueueAsync(Write("VIN0"));
        await database.FirstBatchStarted.WaitAsync(_deadline);

        var later = Enumerable.Range(1, 50).Select(i => batcher.EnqueueAsync(Write($"VIN{i}"))).ToList();
        database.ReleaseFirstBatch();
        await Task.WhenAll(later.Append(first)).WaitAsync(_deadline);

        Assert.Equal([1, 50], database.BatchSizes);
    }

    [Fact]
    public async Task EnqueueAsync_MoreThanMaxBatchSizeQueued_SplitsIntoBatchesOfAtMostMax()
    {
        var database = new FakeDatabase { HoldFirstBatch = true };
        await using var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 10, maxConcurrentBatches: 1, NullLogger.Instance);
        var first = batcher.EnqueueAsync(Write("VIN0"));
        await database.FirstBatchStarted.WaitAsync(_deadline);

        var later = Enumerable.Range(1, 25).Select(i => batcher.EnqueueAsync(Write($"VIN{i}"))).ToList();
        database.ReleaseFirstBatch();
        await Task.WhenAll(later.Append(first)).WaitAsync(_deadline);

        Assert.Equal([1, 10, 10, 5], database.BatchSizes);
    }

    [Fact]
    public async Task EnqueueAsync_LargeStatesQueued_SplitsBatchesByByteBudget()
    {
        var database = new FakeDatabase { HoldFirstBatch = true };
        var budget = 3 * Write("VIN1", stateBytes: 1000).Size;
        await using var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 100, maxConcurrentBatches: 1, NullLogger.Instance, budget);
        var first = batcher.EnqueueAsync(Write("VIN0", stateBytes: 1000));
        await database.FirstBatchStarted.WaitAsync(_deadline);

        var later = Enumerable.Range(1, 7).Select(i => batcher.EnqueueAsync(Write($"VIN{i}", stateBytes: 1000))).ToList();
        database.ReleaseFirstBatch();
        await Task.WhenAll(later.Append(first)).WaitAsync(_deadline);

        Assert.Equal([1, 3, 3, 1], database.BatchSizes);
    }

    [Fact]
    public async Task EnqueueAsync_SameKeyAsBatchInFlight_WaitsForThatBatchWhileOtherKeysProceed()
    {
        var database = new FakeDatabase { HoldFirstBatch = true };
        await using var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 100, maxConcurrentBatches: 2, NullLogger.Instance);
        var first = batcher.EnqueueAsync(Write("VIN1"));
        await database.FirstBatchStarted.WaitAsync(_deadline);

        var sameKey = batcher.EnqueueAsync(Write("VIN1"));
        var otherKey = batcher.EnqueueAsync(Write("VIN2"));
        await otherKey.WaitAsync(_deadline);
        var sameKeyWaited = !sameKey.IsCompleted;
        database.ReleaseFirstBatch();
        await Task.WhenAll(first, sameKey).WaitAsync(_deadline);

        Assert.True(sameKeyWaited);
        Assert.Equal(["VIN1", "VIN2", "VIN1"], database.Keys);
    }

    [Fact]
    public async Task EnqueueAsync_WhenBatchFails_FailsEveryOperationOfThatBatchOnly()
    {
        var database = new FakeDatabase { FailBatchNumber = 1 };
        await using var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 100, maxConcurrentBatches: 1, NullLogger.Instance);

        var failed = await Assert.ThrowsAsync<TimeoutException>(() => batcher.EnqueueAsync(Write("VIN1")).WaitAsync(_deadline));
        var next = await batcher.EnqueueAsync(Write("VIN2")).WaitAsync(_deadline);

        Assert.Equal("database down", failed.Message);
        Assert.Equal("1", next);
    }

    [Fact]
    public async Task EnqueueAsync_CancelledWhileQueued_IsCancelledAndNeverSent()
    {
        var database = new FakeDatabase { HoldFirstBatch = true };
        await using var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 100, maxConcurrentBatches: 1, NullLogger.Instance);
        using var cancellation = new CancellationTokenSource();
        var first = batcher.EnqueueAsync(Write("VIN0"));
        await database.FirstBatchStarted.WaitAsync(_deadline);

        var cancelled = batcher.EnqueueAsync(Write("VIN1", cancellation.Token));
        var kept = batcher.EnqueueAsync(Write("VIN2"));
        await cancellation.CancelAsync();
        database.ReleaseFirstBatch();
        await Task.WhenAll(first, kept).WaitAsync(_deadline);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(_deadline));
        Assert.Equal(["VIN0", "VIN2"], database.Keys);
    }

    [Fact]
    public async Task DisposeAsync_WithOperationsQueued_CompletesThemFirst()
    {
        var database = new FakeDatabase { HoldFirstBatch = true };
        var batcher = new WriteBatcher(database.ExecuteAsync, maxBatchSize: 100, maxConcurrentBatches: 1, NullLogger.Instance);
        var first = batcher.EnqueueAsync(Write("VIN0"));
        await database.FirstBatchStarted.WaitAsync(_deadline);
        var queued = Enumerable.Range(1, 5).Select(i => batcher.EnqueueAsync(Write($"VIN{i}"))).ToList();

        var disposal = batcher.DisposeAsync().AsTask();
        var disposedEarly = disposal.IsCompleted;
        database.ReleaseFirstBatch();
        await disposal.WaitAsync(_deadline);

        Assert.False(disposedEarly);
        Assert.All(queued.Append(first), operation => Assert.True(operation.IsCompletedSuccessfully));
        Assert.Throws<ObjectDisposedException>(() => { _ = batcher.EnqueueAsync(Write("late")); });
    }

    private static GrainWrite Write(string key, CancellationToken cancellationToken = default)
        => Write(key, stateBytes: 1, cancellationToken);

    private static GrainWrite Write(string key, int stateBytes, CancellationToken cancellationToken = default)
        => GrainWrite.Write("vehicle-state", key, new byte[stateBytes], expectedEtag: null, cancellationToken);

    /// <summary>Records batches and marks every operation written at version 1; can hold or fail a batch.</summary>
    private sealed class FakeDatabase
    {
        private readonly TaskCompletionSource _firstBatchStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _releaseFirstBatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<int> _batchSizes = new();
        private readonly ConcurrentQueue<string> _keys = new();
        private int _batchNumber;

        public bool HoldFirstBatch { get; init; }

        public int FailBatchNumber { get; init; }

        public Task FirstBatchStarted => _firstBatchStarted.Task;

        public int[] BatchSizes => [.. _batchSizes];

        public string[] Keys => [.. _keys];

        public void ReleaseFirstBatch() => _releaseFirstBatch.TrySetResult();

        public async Task ExecuteAsync(IReadOnlyList<GrainWrite> batch, CancellationToken cancellationToken)
        {
            var number = Interlocked.Increment(ref _batchNumber);
            _batchSizes.Enqueue(batch.Count);
            foreach (var operation in batch)
            {
                _keys.Enqueue(operation.GrainId);
            }

            if (number == 1)
            {
                _firstBatchStarted.TrySetResult();
                if (HoldFirstBatch)
                {
                    await _releaseFirstBatch.Task;
                }
            }

            if (number == FailBatchNumber)
            {
                throw new TimeoutException("database down");
            }

            foreach (var operation in batch)
            {
                operation.Succeeded(1);
            }
        }
    }
}
