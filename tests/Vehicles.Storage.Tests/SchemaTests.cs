namespace Vehicles.Storage.Tests;

public sealed class SqliteSchemaTests : IDisposable
{
    private readonly string _directory = TestDatabases.UniqueDirectory();

    public void Dispose() => TestDatabases.DeleteDirectory(_directory);

    [Fact]
    public async Task EnsureAsync_AppliedTwice_SecondIsNoOp()
    {
        var options = TestDatabases.Sqlite(_directory);

        var first = await VehicleSchema.EnsureAsync(options);
        var second = await VehicleSchema.EnsureAsync(options);

        Assert.Equal(VehicleSchema.LatestVersion(VehicleStorageProvider.Sqlite), first);
        Assert.Equal(0, second);
        Assert.Equal((long)first, await TestDatabases.SqliteScalarAsync(_directory, "SELECT COUNT(*) FROM schema_version"));
        Assert.Equal("wal", await TestDatabases.SqliteScalarAsync(_directory, "PRAGMA journal_mode"));
    }

    [Fact]
    public async Task EnsureAsync_StoresEveryPersistenceQuery()
    {
        await VehicleSchema.EnsureAsync(TestDatabases.Sqlite(_directory));

        var keys = await TestDatabases.SqliteScalarAsync(_directory, "SELECT group_concat(QueryKey, ',') FROM (SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey)");

        Assert.Equal("ClearStorageKey,DeleteStorageKey,ReadFromStorageKey,WriteToStorageKey", keys);
    }

    [Fact]
    public async Task EnsureAsync_SeveralAtOnce_ApplyEachStepOnce()
    {
        var options = TestDatabases.Sqlite(_directory);

        var applied = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => VehicleSchema.EnsureAsync(options))));

        Assert.Equal(VehicleSchema.LatestVersion(VehicleStorageProvider.Sqlite), applied.Sum());
        Assert.Equal((long)applied.Sum(), await TestDatabases.SqliteScalarAsync(_directory, "SELECT COUNT(*) FROM schema_version"));
    }
}

public sealed class PostgresSchemaTests : IAsyncLifetime
{
    private readonly string _schema = TestDatabases.UniqueSchema();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => TestDatabases.DropSchemaAsync(_schema);

    [Fact]
    public async Task EnsureAsync_AppliedTwice_SecondIsNoOp()
    {
        var options = TestDatabases.Postgres(_schema);

        var first = await VehicleSchema.EnsureAsync(options);
        var second = await VehicleSchema.EnsureAsync(options);

        Assert.Equal(VehicleSchema.LatestVersion(VehicleStorageProvider.PostgreSql), first);
        Assert.Equal(0, second);
        Assert.Equal((long)first, await TestDatabases.PostgresScalarAsync<long>($"SELECT COUNT(*) FROM \"{_schema}\".schema_version"));
    }

    [Fact]
    public async Task EnsureAsync_TwoMigratorsAtOnce_ApplyEachStepOnce()
    {
        var options = TestDatabases.Postgres(_schema);

        var applied = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => VehicleSchema.EnsureAsync(options))));

        Assert.Equal(VehicleSchema.LatestVersion(VehicleStorageProvider.PostgreSql), applied.Sum());
        Assert.Contains(0, applied);
        Assert.Equal((long)applied.Sum(), await TestDatabases.PostgresScalarAsync<long>($"SELECT COUNT(*) FROM \"{_schema}\".schema_version"));
    }

    [Fact]
    public async Task EnsureAsync_StoresEveryQueryTheThreeProvidersRead()
    {
        await VehicleSchema.EnsureAsync(TestDatabases.Postgres(_schema));

        var keys = await TestDatabases.PostgresScalarAsync<string>($"SELECT string_agg(querykey, ',' ORDER BY querykey COLLATE \"C\") FROM \"{_schema}\".orleansquery");

        Assert.Equal(
            "CleanupDefunctSiloEntriesKey,ClearStorageKey,DeleteMembershipTableEntriesKey,DeleteReminderRowKey,DeleteReminderRowsKey,"
            + "DeleteStorageKey,GatewaysQueryKey,InsertMembershipKey,InsertMembershipVersionKey,MembershipReadAllKey,MembershipReadRowKey,"
            + "ReadFromStorageKey,ReadRangeRows1Key,ReadRangeRows2Key,ReadReminderRowKey,ReadReminderRowsKey,UpdateIAmAlivetimeKey,"
            + "UpdateMembershipKey,UpsertReminderRowKey,WriteToStorageKey",
            keys);
    }
}
