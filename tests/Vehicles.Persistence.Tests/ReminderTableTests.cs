using Npgsql;

namespace Vehicles.Persistence.Tests;

/// <summary>The behaviour every reminder table must have; <see cref="Open"/> after a dispose is a silo restart.</summary>
public abstract class ReminderTableTests : IAsyncLifetime
{
    private static readonly DateTimeOffset _start = new(2026, 11, 22, 8, 30, 15, TimeSpan.FromHours(1));

    private readonly List<IReminderTable> _opened = [];

    protected abstract IReminderTable CreateTable(GrainStorageOptions options);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var table in _opened)
        {
            if (table is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ReadAsync_WhenGrainHasNoReminders_ReturnsEmpty()
    {
        var table = Open();

        var entries = await table.ReadAsync("vehicle", "VIN1");

        Assert.Empty(entries);
    }

    [Fact]
    public async Task UpsertAsync_ThenReadAsync_ReturnsTheGrainsRemindersExactly()
    {
        var table = Open();
        var heartbeat = new ReminderEntry("vehicle", "VIN1", "heartbeat", _start.AddTicks(1), TimeSpan.FromMinutes(5));
        var service = new ReminderEntry("vehicle", "VIN1", "service", _start, TimeSpan.Zero);
        await table.UpsertAsync(service);
        await table.UpsertAsync(heartbeat);
        await table.UpsertAsync(new ReminderEntry("vehicle", "VIN2", "heartbeat", _start, TimeSpan.FromMinutes(1)));

        var entries = await table.ReadAsync("vehicle", "VIN1");

        Assert.Equal([heartbeat, service], entries);
        Assert.Equal(_start.AddTicks(1).UtcTicks, entries[0].StartAt.UtcTicks);
    }

    [Fact]
    public async Task UpsertAsync_ForExistingName_ReplacesIt()
    {
        var table = Open();
        await table.UpsertAsync(new ReminderEntry("vehicle", "VIN1", "heartbeat", _start, TimeSpan.FromMinutes(5)));
        var replacement = new ReminderEntry("vehicle", "VIN1", "heartbeat", _start.AddHours(1), TimeSpan.FromMinutes(10));

        await table.UpsertAsync(replacement);

        Assert.Equal([replacement], await table.ReadAsync("vehicle", "VIN1"));
    }

    [Fact]
    public async Task RemoveAsync_ReturnsWhetherItExisted_AndRemovesOnlyThatReminder()
    {
        var table = Open();
        var kept = new ReminderEntry("vehicle", "VIN1", "kept", _start, TimeSpan.FromMinutes(5));
        await table.UpsertAsync(kept);
        await table.UpsertAsync(new ReminderEntry("vehicle", "VIN1", "removed", _start, TimeSpan.FromMinutes(5)));

        var first = await table.RemoveAsync("vehicle", "VIN1", "removed");
        var second = await table.RemoveAsync("vehicle", "VIN1", "removed");

        Assert.True(first);
        Assert.False(second);
        Assert.Equal([kept], await table.ReadAsync("vehicle", "VIN1"));
    }

    [Fact]
    public async Task ReadAllAsync_WithFilter_ReturnsOnlyAcceptedKeys()
    {
        var table = Open();
        var owned = new ReminderEntry("vehicle", "VIN2", "heartbeat", _start, TimeSpan.FromMinutes(5));
        await table.UpsertAsync(new ReminderEntry("vehicle", "VIN1", "heartbeat", _start, TimeSpan.FromMinutes(5)));
        await table.UpsertAsync(owned);
        await table.UpsertAsync(new ReminderEntry("fleet", "VIN2", "report", _start, TimeSpan.FromHours(1)));

        var filtered = await table.ReadAllAsync((grainType, grainKey) => grainType == "vehicle" && grainKey == "VIN2");
        var all = await table.ReadAllAsync();

        Assert.Equal([owned], filtered);
        Assert.Equal(3, all.Count);
    }

    [Fact]
    public async Task Reminders_AfterReopen_AreStillThere()
    {
        var first = Open();
        var entry = new ReminderEntry("vehicle", "VIN1", "heartbeat", _start, TimeSpan.FromSeconds(30));
        await first.UpsertAsync(entry);
        await first.UpsertAsync(new ReminderEntry("vehicle", "VIN1", "gone", _start, TimeSpan.FromSeconds(30)));
        await first.RemoveAsync("vehicle", "VIN1", "gone");
        if (first is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        var second = Open();

        Assert.Equal([entry], await second.ReadAllAsync());
    }

    protected IReminderTable Open()
    {
        var table = CreateTable(new GrainStorageOptions());
        _opened.Add(table);
        return table;
    }
}

public sealed class SqliteReminderTableTests : ReminderTableTests
{
    private readonly string _directory = TestDatabases.UniqueDirectory();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        TestDatabases.DeleteDirectory(_directory);
    }

    [Fact]
    public async Task ReminderTable_SharesTheFileWithGrainStorage()
    {
        var options = new GrainStorageOptions { DataDirectory = _directory };
        await using var storage = new SqliteGrainStorage(options);
        var etag = await storage.WriteAsync("vehicle", "VIN1", new byte[] { 1 }, expectedEtag: null);
        var table = Open();

        await table.UpsertAsync(new ReminderEntry("vehicle", "VIN1", "heartbeat", DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(1)));

        Assert.Single(await table.ReadAsync("vehicle", "VIN1"));
        Assert.Equal(etag, (await storage.ReadAsync("vehicle", "VIN1"))!.Etag);
    }

    protected override IReminderTable CreateTable(GrainStorageOptions options)
    {
        options.DataDirectory = _directory;
        return new SqliteReminderTable(options);
    }
}

public sealed class PostgresReminderTableTests : ReminderTableTests
{
    private readonly NpgsqlDataSource _dataSource = TestDatabases.CreatePostgresDataSource();
    private readonly string _schema = TestDatabases.UniqueSchema();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await TestDatabases.DropSchemaAsync(_dataSource, _schema);
        await _dataSource.DisposeAsync();
    }

    protected override IReminderTable CreateTable(GrainStorageOptions options)
    {
        options.Schema = _schema;
        return new PostgresReminderTable(_dataSource, options);
    }
}
