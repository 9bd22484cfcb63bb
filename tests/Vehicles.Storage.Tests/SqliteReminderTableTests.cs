using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Vehicles.Storage.Tests;

public sealed class SqliteReminderTableTests : IAsyncLifetime
{
    private static readonly DateTime _start = new(2026, 12, 4, 8, 30, 15, 123, DateTimeKind.Utc);

    private readonly string _directory = TestDatabases.UniqueDirectory();
    private SqliteReminderTable _table = null!;

    public async Task InitializeAsync()
    {
        _table = Table("vehicles");
        await _table.StartAsync();
    }

    public Task DisposeAsync()
    {
        TestDatabases.DeleteDirectory(_directory);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task UpsertRow_NewThenExisting_ReturnsGrowingEtagsAndStoresTheEntry()
    {
        var grain = GrainId.Create("vehicle", "VIN1");

        var first = await _table.UpsertRow(Entry(grain, "tick", TimeSpan.FromMinutes(1)));
        var second = await _table.UpsertRow(Entry(grain, "tick", TimeSpan.FromMinutes(5)));
        var row = await _table.ReadRow(grain, "tick");

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.NotEqual(first, second);
        Assert.NotNull(row);
        Assert.Equal(grain, row.GrainId);
        Assert.Equal("tick", row.ReminderName);
        Assert.Equal(_start, row.StartAt);
        Assert.Equal(DateTimeKind.Utc, row.StartAt.Kind);
        Assert.Equal(TimeSpan.FromMinutes(5), row.Period);
        Assert.Equal(second, row.ETag);
    }

    [Fact]
    public async Task ReadRows_ByGrain_ReturnsOnlyThatGrainsReminders()
    {
        var grain = GrainId.Create("vehicle", "VIN1");
        await _table.UpsertRow(Entry(grain, "a", TimeSpan.FromMinutes(1)));
        await _table.UpsertRow(Entry(grain, "b", TimeSpan.FromMinutes(1)));
        await _table.UpsertRow(Entry(GrainId.Create("vehicle", "VIN2"), "a", TimeSpan.FromMinutes(1)));

        var rows = await _table.ReadRows(grain);

        Assert.Equal(["a", "b"], rows.Reminders.Select(r => r.ReminderName).Order());
    }

    [Fact]
    public async Task ReadRow_Missing_ReturnsNull()
    {
        Assert.Null(await _table.ReadRow(GrainId.Create("vehicle", "nobody"), "tick"));
    }

    [Fact]
    public async Task RemoveRow_WithStaleEtag_KeepsTheRowAndWithCurrentEtagRemovesIt()
    {
        var grain = GrainId.Create("vehicle", "VIN1");
        var stale = await _table.UpsertRow(Entry(grain, "tick", TimeSpan.FromMinutes(1)));
        var current = await _table.UpsertRow(Entry(grain, "tick", TimeSpan.FromMinutes(2)));

        var removedWithStale = await _table.RemoveRow(grain, "tick", stale!);
        var stillThere = await _table.ReadRow(grain, "tick");
        var removedWithCurrent = await _table.RemoveRow(grain, "tick", current!);
        var afterRemove = await _table.ReadRow(grain, "tick");
        var removedAgain = await _table.RemoveRow(grain, "tick", current!);

        Assert.False(removedWithStale);
        Assert.NotNull(stillThere);
        Assert.True(removedWithCurrent);
        Assert.Null(afterRemove);
        Assert.False(removedAgain);
    }

    [Fact]
    public async Task ReadRows_ByRange_CoversBeginExclusiveEndInclusiveAndWrapsAround()
    {
        var grains = Enumerable.Range(0, 200).Select(i => GrainId.Create("vehicle", "VIN" + i)).ToList();
        foreach (var grain in grains)
        {
            await _table.UpsertRow(Entry(grain, "tick", TimeSpan.FromMinutes(1)));
        }

        var hashes = grains.Select(g => g.GetUniformHashCode()).Order().ToList();
        var begin = hashes[50];
        var end = hashes[150];

        var inside = await Hashes(_table.ReadRows(begin, end));
        var wrapped = await Hashes(_table.ReadRows(end, begin));
        var everything = await Hashes(_table.ReadRows(begin, begin));

        Assert.Equal(hashes.Where(h => h > begin && h <= end), inside);
        Assert.Equal(hashes.Where(h => h > end || h <= begin), wrapped);
        Assert.Equal(hashes, everything);
    }

    [Fact]
    public async Task TestOnlyClearTable_RemovesOnlyThisServicesReminders()
    {
        var other = Table("other-service");
        var grain = GrainId.Create("vehicle", "VIN1");
        await _table.UpsertRow(Entry(grain, "tick", TimeSpan.FromMinutes(1)));
        await other.UpsertRow(Entry(grain, "tick", TimeSpan.FromMinutes(1)));

        await _table.TestOnlyClearTable();

        Assert.Null(await _table.ReadRow(grain, "tick"));
        Assert.NotNull(await other.ReadRow(grain, "tick"));
    }

    private static async Task<List<uint>> Hashes(Task<ReminderTableData> read) =>
        (await read).Reminders.Select(r => r.GrainId.GetUniformHashCode()).Order().ToList();

    private static ReminderEntry Entry(GrainId grain, string name, TimeSpan period) =>
        new() { GrainId = grain, ReminderName = name, StartAt = _start, Period = period };

    private SqliteReminderTable Table(string serviceId) => new(
        Options.Create(TestDatabases.Sqlite(_directory)),
        Options.Create(new ClusterOptions { ServiceId = serviceId, ClusterId = "test" }));
}
