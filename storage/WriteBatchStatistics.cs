namespace Vehicles.Storage;

/// <summary>
/// Counters of the write coalescing path: how many writes and clears were sent and in how many batches
/// (database round trips for PostgreSQL, transactions for SQLite). Thread-safe; values only grow.
/// </summary>
public sealed class WriteBatchStatistics
{
    private long _batches;
    private long _operations;
    private long _largestBatch;

    /// <summary>Batches sent to the database, successful or not.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Writes and clears carried by those batches.</summary>
    public long Operations => Interlocked.Read(ref _operations);

    /// <summary>The most operations one batch has carried.</summary>
    public long LargestBatch => Interlocked.Read(ref _largestBatch);

    internal void Record(int batchSize)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _operations, batchSize);
        var largest = Interlocked.Read(ref _largestBatch);
        while (batchSize > largest)
        {
            var seen = Interlocked.CompareExchange(ref _largestBatch, batchSize, largest);
            if (seen == largest)
            {
                break;
            }

            largest = seen;
        }
    }
}
