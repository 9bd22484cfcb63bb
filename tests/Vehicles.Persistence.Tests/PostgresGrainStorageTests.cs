using Npgsql;

namespace Vehicles.Persistence.Tests;

public sealed class PostgresGrainStorageTests : GrainStorageTests
{
    private readonly NpgsqlDataSource _dataSource = TestDatabases.CreatePostgresDataSource();
    private readonly string _schema = TestDatabases.UniqueSchema();

    protected override int MigrationCount => 2;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await TestDatabases.DropSchemaAsync(_dataSource, _schema);
        await _dataSource.DisposeAsync();
    }

    [Fact]
    public async Task InitializeAsync_WhenSeveralSilosStartAtOnce_AllSucceedAndMigrateOnce()
    {
        var silos = Enumerable.Range(0, 4).Select(_ => (PostgresGrainStorage)Open()).ToList();

        await Task.WhenAll(silos.Select(silo => silo.InitializeAsync()));

        Assert.Equal(MigrationCount, await CountAppliedMigrationsAsync());
        var etag = await silos[0].WriteAsync(GrainType, "VIN1", Bytes("shared"), expectedEtag: null);
        await AssertStoredAsync(silos[3], "VIN1", "shared", etag);
    }

    [Fact]
    public async Task WriteAsync_TwoSilosWritingOneKey_SecondIsFencedByEtag()
    {
        var siloA = Open();
        var siloB = Open();
        var etag = await siloA.WriteAsync(GrainType, "VIN1", Bytes("a1"), expectedEtag: null);
        var moved = await siloB.WriteAsync(GrainType, "VIN1", Bytes("b1"), etag);

        var exception = await Assert.ThrowsAsync<InconsistentStateException>(
            () => siloA.WriteAsync(GrainType, "VIN1", Bytes("a2"), etag));

        Assert.Equal(moved, exception.StoredEtag);
        await AssertStoredAsync(siloA, "VIN1", "b1", moved);
    }

    [Fact]
    public async Task WriteAsync_MixedWritesAndClearsInOneBatch_EachGetsItsOwnOutcome()
    {
        var storage = Open(options => options.MaxConcurrentBatches = 1);
        var live = await storage.WriteAsync(GrainType, "live", Bytes("x"), expectedEtag: null);
        var toClear = await storage.WriteAsync(GrainType, "to-clear", Bytes("x"), expectedEtag: null);

        var update = storage.WriteAsync(GrainType, "live", Bytes("y"), live);
        var clear = storage.ClearAsync(GrainType, "to-clear", toClear);
        var staleClear = storage.ClearAsync(GrainType, "missing", "7");
        var insert = storage.WriteAsync(GrainType, "new", Bytes("z"), expectedEtag: null);
        var results = await Task.WhenAll(
            Outcome(update), Outcome(clear), Outcome(staleClear), Outcome(insert));

        Assert.Equal(["ok", "ok", "conflict", "ok"], results);
        await AssertStoredAsync(storage, "live", "y", await update);
        Assert.Null(await storage.ReadAsync(GrainType, "to-clear"));
        await AssertStoredAsync(storage, "new", "z", await insert);
    }

    protected override IGrainStorage CreateStorage(GrainStorageOptions options)
    {
        options.Schema = _schema;
        return new PostgresGrainStorage(_dataSource, options);
    }

    protected override async Task<long> CountAppliedMigrationsAsync()
    {
        await using var command = _dataSource.CreateCommand($"SELECT COUNT(*) FROM \"{_schema}\".schema_version");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> Outcome(Task operation)
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
}
