using System.Text;

namespace Vehicles.Persistence.Tests;

/// <summary>
/// The behaviour every grain storage provider must have. Each derived class supplies a fresh backing store
/// per test; <see cref="Open"/> returns a new storage instance over that same store, so opening a second
/// one after disposing the first is a silo restart.
/// </summary>
public abstract class GrainStorageTests : IAsyncLifetime
{
    protected const string GrainType = "vehicle";

    private readonly List<IAsyncDisposable> _opened = [];

    /// <summary>A new storage instance over this test's database.</summary>
    protected abstract IGrainStorage CreateStorage(GrainStorageOptions options);

    /// <summary>How many schema migrations the database records as applied.</summary>
    protected abstract Task<long> CountAppliedMigrationsAsync();

    protected abstract int MigrationCount { get; }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var storage in _opened)
        {
            await storage.DisposeAsync();
        }
    }

    [Fact]
    public async Task ReadAsync_WhenRecordMissing_ReturnsNull()
    {
        var storage = Open();

        var state = await storage.ReadAsync(GrainType, "missing");

        Assert.Null(state);
    }

    [Fact]
    public async Task WriteAsync_ThenReadAsync_ReturnsDataAndEtag()
    {
        var storage = Open();
        var data = Encoding.UTF8.GetBytes("{\"speed\":42}");

        var etag = await storage.WriteAsync(GrainType, "VIN1", data, expectedEtag: null);
        var state = await storage.ReadAsync(GrainType, "VIN1");

        Assert.NotNull(state);
        Assert.Equal(data, state.Data.ToArray());
        Assert.Equal(etag, state.Etag);
    }

    [Fact]
    public async Task WriteAsync_WithCurrentEtag_ReplacesDataAndChangesEtag()
    {
        var storage = Open();
        var first = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);

        var second = await storage.WriteAsync(GrainType, "VIN1", Bytes("two"), first);

        Assert.NotEqual(first, second);
        await AssertStoredAsync(storage, "VIN1", "two", second);
    }

    [Fact]
    public async Task WriteAsync_WithSliceOfLargerBuffer_StoresOnlyTheSlice()
    {
        var storage = Open();
        var buffer = Bytes("xxabcxx");

        var etag = await storage.WriteAsync(GrainType, "VIN1", buffer.AsMemory(2, 3), expectedEtag: null);

        await AssertStoredAsync(storage, "VIN1", "abc", etag);
    }

    [Fact]
    public async Task WriteAsync_WithStaleEtag_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var stale = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);
        var current = await storage.WriteAsync(GrainType, "VIN1", Bytes("two"), stale);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteAsync(GrainType, "VIN1", Bytes("zombie"), stale));

        Assert.Equal(current, exception.StoredEtag);
        Assert.Equal(stale, exception.CurrentEtag);
        await AssertStoredAsync(storage, "VIN1", "two", current);
    }

    [Fact]
    public async Task WriteAsync_WithNullEtagWhenRecordExists_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var current = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteAsync(GrainType, "VIN1", Bytes("other"), expectedEtag: null));

        Assert.Equal(current, exception.StoredEtag);
        Assert.Null(exception.CurrentEtag);
        await AssertStoredAsync(storage, "VIN1", "one", current);
    }

    [Fact]
    public async Task WriteAsync_WithEtagWhenRecordMissing_ThrowsAndCreatesNothing()
    {
        var storage = Open();

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteAsync(GrainType, "VIN1", Bytes("one"), "1"));

        Assert.Null(exception.StoredEtag);
        Assert.Equal("1", exception.CurrentEtag);
        Assert.Null(await storage.ReadAsync(GrainType, "VIN1"));
    }

    [Fact]
    public async Task WriteAsync_WithForeignEtag_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var current = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteAsync(GrainType, "VIN1", Bytes("other"), "not-an-etag"));

        Assert.Equal(current, exception.StoredEtag);
        await AssertStoredAsync(storage, "VIN1", "one", current);
    }

    [Fact]
    public async Task ClearAsync_WithCurrentEtag_RemovesRecord()
    {
        var storage = Open();
        var etag = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);

        await storage.ClearAsync(GrainType, "VIN1", etag);

        Assert.Null(await storage.ReadAsync(GrainType, "VIN1"));
    }

    [Fact]
    public async Task ClearAsync_WithStaleEtag_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var stale = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);
        var current = await storage.WriteAsync(GrainType, "VIN1", Bytes("two"), stale);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.ClearAsync(GrainType, "VIN1", stale));

        Assert.Equal(current, exception.StoredEtag);
        Assert.Equal(stale, exception.CurrentEtag);
        await AssertStoredAsync(storage, "VIN1", "two", current);
    }

    [Fact]
    public async Task ClearAsync_WithNullEtagWhenRecordExists_ThrowsAndChangesNothing()
    {
        var storage = Open();
        var current = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.ClearAsync(GrainType, "VIN1", expectedEtag: null));

        Assert.Equal(current, exception.StoredEtag);
        await AssertStoredAsync(storage, "VIN1", "one", current);
    }

    [Fact]
    public async Task ClearAsync_WithEtagWhenRecordMissing_Throws()
    {
        var storage = Open();

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.ClearAsync(GrainType, "VIN1", "1"));

        Assert.Null(exception.StoredEtag);
        Assert.Null(await storage.ReadAsync(GrainType, "VIN1"));
    }

    [Fact]
    public async Task ClearAsync_WithNullEtagWhenRecordMissing_Succeeds()
    {
        var storage = Open();

        await storage.ClearAsync(GrainType, "VIN1", expectedEtag: null);

        Assert.Null(await storage.ReadAsync(GrainType, "VIN1"));
    }

    [Fact]
    public async Task WriteAsync_AfterClear_NeverReusesAnEtagFromBeforeTheClear()
    {
        var storage = Open();
        var beforeClear = await storage.WriteAsync(GrainType, "VIN1", Bytes("one"), expectedEtag: null);
        await storage.ClearAsync(GrainType, "VIN1", beforeClear);
        var afterClear = await storage.WriteAsync(GrainType, "VIN1", Bytes("two"), expectedEtag: null);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteAsync(GrainType, "VIN1", Bytes("zombie"), beforeClear));

        Assert.NotEqual(beforeClear, afterClear);
        Assert.Equal(afterClear, exception.StoredEtag);
        await AssertStoredAsync(storage, "VIN1", "two", afterClear);
    }

    [Fact]
    public async Task ReadAsync_AfterReopen_ReturnsStateWrittenBeforeRestart()
    {
        var first = Open();
        var etag = await first.WriteAsync(GrainType, "VIN1", Bytes("durable"), expectedEtag: null);
        var clearedEtag = await first.WriteAsync(GrainType, "VIN2", Bytes("cleared"), expectedEtag: null);
        await first.ClearAsync(GrainType, "VIN2", clearedEtag);
        await ((IAsyncDisposable)first).DisposeAsync();

        var second = Open();

        await AssertStoredAsync(second, "VIN1", "durable", etag);
        Assert.Null(await second.ReadAsync(GrainType, "VIN2"));
        var next = await second.WriteAsync(GrainType, "VIN1", Bytes("after restart"), etag);
        await AssertStoredAsync(second, "VIN1", "after restart", next);
    }

    [Fact]
    public async Task WriteAsync_ThousandConcurrentWriters_AllSucceedInFewerBatchesThanWrites()
    {
        const int Writers = 1000;
        var storage = Open();
        await ((IStorageInitializer)storage).InitializeAsync(CancellationToken.None);

        var writes = Enumerable.Range(0, Writers)
            .Select(i => storage.WriteAsync(GrainType, $"VIN{i}", Bytes($"state {i}"), expectedEtag: null))
            .ToList();
        var etags = await Task.WhenAll(writes);

        var statistics = Statistics(storage);
        Assert.Equal(Writers, statistics.Operations);
        Assert.InRange(statistics.Batches, 1, Writers - 1);
        Assert.True(statistics.LargestBatch > 1, $"largest batch was {statistics.LargestBatch}");
        for (var i = 0; i < Writers; i += 97)
        {
            await AssertStoredAsync(storage, $"VIN{i}", $"state {i}", etags[i]);
        }
    }

    [Fact]
    public async Task WriteAsync_ConcurrentWritersOfOneKeyWithSameEtag_ExactlyOneWins()
    {
        const int Writers = 20;
        var storage = Open();
        await ((IStorageInitializer)storage).InitializeAsync(CancellationToken.None);

        var writes = Enumerable.Range(0, Writers)
            .Select(i => storage.WriteAsync(GrainType, "VIN1", Bytes($"writer {i}"), expectedEtag: null))
            .ToList();
        var outcomes = await Task.WhenAll(writes.Select(async write =>
        {
            try
            {
                return await write;
            }
            catch (InconsistentStateException)
            {
                return null;
            }
        }));

        var winners = outcomes.Select((etag, index) => (etag, index)).Where(o => o.etag is not null).ToList();
        var winner = Assert.Single(winners);
        await AssertStoredAsync(storage, "VIN1", $"writer {winner.index}", winner.etag!);
    }

    [Fact]
    public async Task WriteAsync_SequentialWritesWithReturnedEtags_AllSucceed()
    {
        var storage = Open();
        string? etag = null;

        for (var i = 0; i < 20; i++)
        {
            etag = await storage.WriteAsync(GrainType, "VIN1", Bytes($"v{i}"), etag);
        }

        await AssertStoredAsync(storage, "VIN1", "v19", etag!);
    }

    [Fact]
    public async Task DisposeAsync_WithWritesQueued_CompletesThemDurably()
    {
        const int Writers = 200;
        var first = Open();
        await ((IStorageInitializer)first).InitializeAsync(CancellationToken.None);
        var writes = Enumerable.Range(0, Writers)
            .Select(i => first.WriteAsync(GrainType, $"VIN{i}", Bytes($"last {i}"), expectedEtag: null))
            .ToList();

        await ((IAsyncDisposable)first).DisposeAsync();

        var etags = await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(10));
        var second = Open();
        for (var i = 0; i < Writers; i += 19)
        {
            await AssertStoredAsync(second, $"VIN{i}", $"last {i}", etags[i]);
        }
    }

    [Fact]
    public async Task WriteAsync_AfterDispose_ThrowsObjectDisposed()
    {
        var storage = Open();
        await ((IStorageInitializer)storage).InitializeAsync(CancellationToken.None);
        await ((IAsyncDisposable)storage).DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(
            () => storage.WriteAsync(GrainType, "VIN1", Bytes("late"), expectedEtag: null));
    }

    [Fact]
    public async Task WriteAsync_WithCancelledToken_DoesNotWrite()
    {
        var storage = Open();
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => storage.WriteAsync(GrainType, "VIN1", Bytes("never"), expectedEtag: null, cancellation.Token));

        Assert.Null(await storage.ReadAsync(GrainType, "VIN1"));
    }

    [Fact]
    public async Task InitializeAsync_RunTwiceAndOnReopen_AppliesEachMigrationOnce()
    {
        var first = Open();
        await ((IStorageInitializer)first).InitializeAsync(CancellationToken.None);
        await ((IStorageInitializer)first).InitializeAsync(CancellationToken.None);
        var etag = await first.WriteAsync(GrainType, "VIN1", Bytes("kept"), expectedEtag: null);
        await ((IAsyncDisposable)first).DisposeAsync();

        var second = Open();
        await ((IStorageInitializer)second).InitializeAsync(CancellationToken.None);

        Assert.Equal(MigrationCount, await CountAppliedMigrationsAsync());
        await AssertStoredAsync(second, "VIN1", "kept", etag);
    }

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    protected static WriteBatchStatistics Statistics(IGrainStorage storage) => storage switch
    {
        SqliteGrainStorage sqlite => sqlite.WriteStatistics,
        PostgresGrainStorage postgres => postgres.WriteStatistics,
        _ => throw new NotSupportedException(storage.GetType().Name),
    };

    protected static async Task AssertStoredAsync(IGrainStorage storage, string grainKey, string expectedText, string expectedEtag)
    {
        var state = await storage.ReadAsync(GrainType, grainKey);
        Assert.NotNull(state);
        Assert.Equal(expectedText, Encoding.UTF8.GetString(state.Data.Span));
        Assert.Equal(expectedEtag, state.Etag);
    }

    /// <summary>Opens a storage instance that the test disposes at its end (disposing twice is harmless).</summary>
    protected IGrainStorage Open(Action<GrainStorageOptions>? configure = null)
    {
        var options = new GrainStorageOptions();
        configure?.Invoke(options);
        var storage = CreateStorage(options);
        _opened.Add((IAsyncDisposable)storage);
        return storage;
    }
}
