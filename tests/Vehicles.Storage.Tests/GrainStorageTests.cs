using Orleans.Storage;
using static Vehicles.Storage.Tests.StorageHarness;

namespace Vehicles.Storage.Tests;

/// <summary>
/// The behaviour both databases' batched grain storage must have, through Orleans' <see cref="IGrainStorage"/>.
/// <see cref="Open"/> returns a new storage instance over this test's database, so opening a second one after
/// disposing the first is a silo restart.
/// </summary>
public abstract class GrainStorageTests : IAsyncLifetime
{
    private readonly List<BatchedGrainStorage> _opened = [];

    protected string ServiceId { get; } = "storage-test-" + Guid.NewGuid().ToString("N");

    /// <summary>The options of this test's database.</summary>
    protected abstract VehicleStorageOptions Options();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var storage in _opened)
        {
            await storage.DisposeAsync();
        }
    }

    [Fact]
    public async Task Read_WhenNoRow_GivesTheDefaultStateNoEtagAndNoRecord()
    {
        var storage = Open();

        var state = await ReadAsync(storage, "missing");

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal("", state.State!.Value);
    }

    [Fact]
    public async Task Write_ThenRead_GivesStateEtagAndRecord()
    {
        var storage = Open();

        var etag = await WriteAsync(storage, "VIN1", "speed 42", etag: null);

        await AssertStoredAsync(storage, "VIN1", "speed 42", etag);
    }

    [Fact]
    public async Task Write_WithCurrentEtag_ReplacesStateAndChangesEtag()
    {
        var storage = Open();
        var first = await WriteAsync(storage, "VIN1", "one", etag: null);

        var second = await WriteAsync(storage, "VIN1", "two", first);

        Assert.NotEqual(first, second);
        await AssertStoredAsync(storage, "VIN1", "two", second);
    }

    [Fact]
    public async Task Write_WithStaleEtag_ThrowsInconsistentStateAndChangesNothing()
    {
        var storage = Open();
        var stale = await WriteAsync(storage, "VIN1", "one", etag: null);
        var current = await WriteAsync(storage, "VIN1", "two", stale);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => WriteAsync(storage, "VIN1", "zombie", stale));

        Assert.Equal(current, exception.StoredEtag);
        Assert.Equal(stale, exception.CurrentEtag);
        await AssertStoredAsync(storage, "VIN1", "two", current);
    }

    [Fact]
    public async Task Write_WithNullEtagWhenARowExists_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var current = await WriteAsync(storage, "VIN1", "one", etag: null);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => WriteAsync(storage, "VIN1", "other", etag: null));

        Assert.Equal(current, exception.StoredEtag);
        Assert.Null(exception.CurrentEtag);
        await AssertStoredAsync(storage, "VIN1", "one", current);
    }

    [Fact]
    public async Task Write_WithEtagWhenNoRow_ThrowsAndCreatesNothing()
    {
        var storage = Open();

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => WriteAsync(storage, "VIN1", "one", "1"));

        Assert.Null(exception.StoredEtag);
        Assert.Equal("1", exception.CurrentEtag);
        Assert.False((await ReadAsync(storage, "VIN1")).RecordExists);
    }

    [Fact]
    public async Task Write_WithForeignEtag_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var current = await WriteAsync(storage, "VIN1", "one", etag: null);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => WriteAsync(storage, "VIN1", "other", "not-an-etag"));

        Assert.Equal(current, exception.StoredEtag);
        await AssertStoredAsync(storage, "VIN1", "one", current);
    }

    [Fact]
    public async Task Clear_WithCurrentEtag_LeavesNoRecordButAnEtagToWriteOn()
    {
        var storage = Open();
        var etag = await WriteAsync(storage, "VIN1", "one", etag: null);

        var afterClear = await ClearAsync(storage, "VIN1", etag);
        var read = await ReadAsync(storage, "VIN1");
        var revived = await WriteAsync(storage, "VIN1", "two", read.ETag);

        Assert.NotNull(afterClear);
        Assert.NotEqual(etag, afterClear);
        Assert.False(read.RecordExists);
        Assert.Equal(afterClear, read.ETag);
        Assert.Equal("", read.State!.Value);
        await AssertStoredAsync(storage, "VIN1", "two", revived);
    }

    [Fact]
    public async Task Clear_WithStaleEtag_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var stale = await WriteAsync(storage, "VIN1", "one", etag: null);
        var current = await WriteAsync(storage, "VIN1", "two", stale);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => ClearAsync(storage, "VIN1", stale));

        Assert.Equal(current, exception.StoredEtag);
        Assert.Equal(stale, exception.CurrentEtag);
        await AssertStoredAsync(storage, "VIN1", "two", current);
    }

    [Fact]
    public async Task Clear_WithNullEtagWhenARowExists_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var current = await WriteAsync(storage, "VIN1", "one", etag: null);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => ClearAsync(storage, "VIN1", etag: null));

        Assert.Equal(current, exception.StoredEtag);
        await AssertStoredAsync(storage, "VIN1", "one", current);
    }

    [Fact]
    public async Task Clear_WithNullEtagWhenNoRow_SucceedsAndLeavesNoEtag()
    {
        var storage = Open();

        var etag = await ClearAsync(storage, "VIN1", etag: null);

        Assert.Null(etag);
        Assert.Null((await ReadAsync(storage, "VIN1")).ETag);
    }

    [Fact]
    public async Task Write_AfterClear_NeverMatchesAnEtagFromBeforeTheClear()
    {
        var storage = Open();
        var beforeClear = await WriteAsync(storage, "VIN1", "one", etag: null);
        var cleared = await ClearAsync(storage, "VIN1", beforeClear);
        var afterClear = await WriteAsync(storage, "VIN1", "two", cleared);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => WriteAsync(storage, "VIN1", "zombie", beforeClear));

        Assert.Equal(afterClear, exception.StoredEtag);
        await AssertStoredAsync(storage, "VIN1", "two", afterClear);
    }

    [Fact]
    public async Task Read_AfterReopen_GivesStateWrittenBeforeTheRestart()
    {
        var first = Open();
        var etag = await WriteAsync(first, "VIN1", "durable", etag: null);
        var cleared = await ClearAsync(first, "VIN2", await WriteAsync(first, "VIN2", "cleared", etag: null));
        await first.DisposeAsync();

        var second = Open();

        await AssertStoredAsync(second, "VIN1", "durable", etag);
        var read = await ReadAsync(second, "VIN2");
        Assert.False(read.RecordExists);
        Assert.Equal(cleared, read.ETag);
        var next = await WriteAsync(second, "VIN1", "after restart", etag);
        await AssertStoredAsync(second, "VIN1", "after restart", next);
    }

    [Fact]
    public async Task Rows_OfAnotherServiceOrStateName_AreNotSeen()
    {
        var storage = Open();
        var other = Open(serviceId: ServiceId + "-other");
        await WriteAsync(storage, "VIN1", "mine", etag: null);

        Assert.False((await ReadAsync(other, "VIN1")).RecordExists);
        var otherState = new Orleans.GrainState<Google.Protobuf.WellKnownTypes.StringValue>();
        await storage.ReadStateAsync("another-state", Grain("VIN1"), otherState);
        Assert.False(otherState.RecordExists);
        await WriteAsync(other, "VIN1", "theirs", etag: null);
    }

    [Fact]
    public async Task Write_ThousandConcurrentWriters_AllSucceedInFewerBatchesThanWrites()
    {
        const int Writers = 1000;
        var storage = Open();
        await storage.InitializeAsync();

        var etags = await Task.WhenAll(Enumerable.Range(0, Writers).Select(i => WriteAsync(storage, $"VIN{i}", $"state {i}", etag: null)));

        var statistics = storage.WriteStatistics;
        Assert.Equal(Writers, statistics.Operations);
        Assert.InRange(statistics.Batches, 1, Writers - 1);
        Assert.True(statistics.LargestBatch > 1, $"largest batch was {statistics.LargestBatch}");
        for (var i = 0; i < Writers; i += 97)
        {
            await AssertStoredAsync(storage, $"VIN{i}", $"state {i}", etags[i]);
        }
    }

    [Fact]
    public async Task Write_LargeStates_AreSplitIntoBatchesByTheByteBudget()
    {
        const int Writers = 24;
        var large = new string('x', 100_000);
        var storage = Open(options => options.MaxBatchBytes = 350_000);
        await storage.InitializeAsync();

        var etags = await Task.WhenAll(Enumerable.Range(0, Writers).Select(i => WriteAsync(storage, $"VIN{i}", $"{i} {large}", etag: null)));

        var statistics = storage.WriteStatistics;
        Assert.Equal(Writers, statistics.Operations);
        Assert.InRange(statistics.LargestBatch, 1, 3);
        for (var i = 0; i < Writers; i += 5)
        {
            await AssertStoredAsync(storage, $"VIN{i}", $"{i} {large}", etags[i]);
        }
    }

    [Fact]
    public async Task Write_ConcurrentWritersOfOneStateWithTheSameEtag_ExactlyOneWins()
    {
        const int Writers = 20;
        var storage = Open();
        await storage.InitializeAsync();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, Writers).Select(async i =>
        {
            try
            {
                return await WriteAsync(storage, "VIN1", $"writer {i}", etag: null);
            }
            catch (InconsistentStateException)
            {
                return null;
            }
        }));

        var winner = Assert.Single(outcomes.Select((etag, index) => (etag, index)), o => o.etag is not null);
        await AssertStoredAsync(storage, "VIN1", $"writer {winner.index}", winner.etag!);
    }

    [Fact]
    public async Task Write_TwoProcessesOnOneDatabase_TheStaleOneIsFenced()
    {
        var siloA = Open();
        var siloB = Open();
        var etag = await WriteAsync(siloA, "VIN1", "a1", etag: null);
        var seenByB = await ReadAsync(siloB, "VIN1");
        var moved = await WriteAsync(siloB, "VIN1", "b1", seenByB.ETag);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(() => WriteAsync(siloA, "VIN1", "a2", etag));

        Assert.Equal(moved, exception.StoredEtag);
        await AssertStoredAsync(siloA, "VIN1", "b1", moved);
    }

    [Fact]
    public async Task Batch_MixedWritesAndClears_EachGetsItsOwnOutcome()
    {
        var storage = Open(options => options.MaxConcurrentBatches = 1);
        var live = await WriteAsync(storage, "live", "x", etag: null);
        var toClear = await WriteAsync(storage, "to-clear", "x", etag: null);

        var update = WriteAsync(storage, "live", "y", live);
        var clear = ClearAsync(storage, "to-clear", toClear);
        var staleClear = ClearAsync(storage, "missing", "7");
        var insert = WriteAsync(storage, "new", "z", etag: null);
        var clearNothing = ClearAsync(storage, "never", etag: null);
        var results = await Task.WhenAll(Outcome(update), Outcome(clear), Outcome(staleClear), Outcome(insert), Outcome(clearNothing));

        Assert.Equal(["ok", "ok", "conflict", "ok", "ok"], results);
        await AssertStoredAsync(storage, "live", "y", await update);
        Assert.False((await ReadAsync(storage, "to-clear")).RecordExists);
        await AssertStoredAsync(storage, "new", "z", await insert);
    }

    [Fact]
    public async Task Write_SequentialWritesWithReturnedEtags_AllSucceed()
    {
        var storage = Open();
        string? etag = null;

        for (var i = 0; i < 20; i++)
        {
            etag = await WriteAsync(storage, "VIN1", $"v{i}", etag);
        }

        await AssertStoredAsync(storage, "VIN1", "v19", etag!);
    }

    [Fact]
    public async Task Dispose_WithWritesQueued_CompletesThemDurably()
    {
        const int Writers = 200;
        var first = Open();
        await first.InitializeAsync();
        var writes = Enumerable.Range(0, Writers).Select(i => WriteAsync(first, $"VIN{i}", $"last {i}", etag: null)).ToList();

        await first.DisposeAsync();

        var etags = await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(10));
        var second = Open();
        for (var i = 0; i < Writers; i += 19)
        {
            await AssertStoredAsync(second, $"VIN{i}", $"last {i}", etags[i]);
        }
    }

    [Fact]
    public async Task Write_AfterDispose_ThrowsObjectDisposed()
    {
        var storage = Open();
        await storage.InitializeAsync();
        await storage.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => WriteAsync(storage, "VIN1", "late", etag: null));
    }

    [Fact]
    public async Task Write_AcknowledgedBeforeTheProcessIsKilled_IsThereAfterwards()
    {
        var options = Options();
        await VehicleSchema.EnsureAsync(options);

        var acknowledged = await CrashWriter.RunAndKillAsync(options, ServiceId, acknowledgements: 1500);

        var storage = Open();
        foreach (var (key, (etag, text)) in acknowledged)
        {
            var state = await ReadAsync(storage, key);
            Assert.True(state.RecordExists, key);
            var stored = long.Parse(state.ETag!, System.Globalization.CultureInfo.InvariantCulture);
            var acked = long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture);

            // Writes acknowledged after the last line the parent read may be there too, never fewer.
            Assert.True(stored >= acked, $"{key}: stored version {stored} < acknowledged {acked}");
            if (stored == acked)
            {
                Assert.Equal(text, state.State!.Value);
            }
        }
    }

    protected static async Task<string> Outcome(Task operation)
    {
        try
        {
            await operation;
            return "ok";
        }
        catch (InconsistentStateException)
        {
            return "conflict";
        }
    }

    /// <summary>Opens a storage instance that the test disposes at its end (disposing twice is harmless).</summary>
    protected BatchedGrainStorage Open(Action<VehicleStorageOptions>? configure = null, string? serviceId = null)
    {
        var options = Options();
        configure?.Invoke(options);
        var storage = Create(options, serviceId ?? ServiceId);
        _opened.Add(storage);
        return storage;
    }
}

public sealed class PostgresGrainStorageTests : GrainStorageTests
{
    private readonly string _schema = TestDatabases.UniqueSchema();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await TestDatabases.DropSchemaAsync(_schema);
    }

    protected override VehicleStorageOptions Options() => TestDatabases.Postgres(_schema);
}

public sealed class SqliteGrainStorageTests : GrainStorageTests
{
    private readonly string _directory = TestDatabases.UniqueDirectory();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        TestDatabases.DeleteDirectory(_directory);
    }

    protected override VehicleStorageOptions Options() => TestDatabases.Sqlite(_directory);

    [Fact]
    public async Task Write_WhileAnotherConnectionHoldsTheWriteLock_DoesNotBlockTheCallerAndSucceedsAfterwards()
    {
        var storage = (SqliteGrainStorage)Open();
        await storage.InitializeAsync();
        await using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={storage.DatabasePath};Pooling=False");
        other.Open();
        var lockHeld = other.BeginTransaction(deferred: false);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var write = WriteAsync(storage, "VIN1", "after lock", etag: null);
        var returnedAfter = started.Elapsed;
        var read = await ReadAsync(storage, "VIN2").WaitAsync(TimeSpan.FromSeconds(5));
        await Task.Delay(300);
        var waitedForLock = !write.IsCompleted;
        lockHeld.Rollback();
        lockHeld.Dispose();
        var etag = await write.WaitAsync(TimeSpan.FromSeconds(10));

        // The caller's thread never waits on SQLite: the write runs on the writer thread, reads in WAL do not wait.
        Assert.True(returnedAfter < TimeSpan.FromMilliseconds(200), $"WriteStateAsync blocked its caller for {returnedAfter}");
        Assert.False(read.RecordExists);
        Assert.True(waitedForLock);
        await AssertStoredAsync(storage, "VIN1", "after lock", etag);
    }
}
