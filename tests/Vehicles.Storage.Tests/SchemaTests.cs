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
    public async Task EnsureAsync_NewInstall_HasOurGrainStateTableAndNoAdoNetLeftovers()
    {
        await VehicleSchema.EnsureAsync(TestDatabases.Sqlite(_directory));

        var tables = await TestDatabases.SqliteScalarAsync(_directory,
            "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)");
        var columns = await TestDatabases.SqliteScalarAsync(_directory,
            "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('grain_state') ORDER BY cid)");

        Assert.Equal("grain_state,reminders,schema_version", tables);
        Assert.Equal("service_id,grain_id,state_name,payload,version,modified_at", columns);
    }

    [Theory]
    [InlineData(false, "grain_state,reminders,schema_version")]
    [InlineData(true, "grain_state,grain_state_adonet,reminders,schema_version")]
    public async Task EnsureAsync_FromVersion2_DropsAnEmptyAdoNetTableAndKeepsOneWithRows(bool withRows, string expectedTables)
    {
        var options = TestDatabases.Sqlite(_directory);
        await VehicleSchema.EnsureToVersionAsync(options, 2);
        if (withRows)
        {
            await TestDatabases.SqliteScalarAsync(_directory,
                "INSERT INTO grain_state VALUES ('svc', 'state', 0, 0, 'VIN1', x'01', 1, '2026-01-01T00:00:00Z')");
        }

        var applied = await VehicleSchema.EnsureAsync(options);

        Assert.Equal(1, applied);
        Assert.Equal(expectedTables, await TestDatabases.SqliteScalarAsync(_directory,
            "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)"));
        Assert.Equal(withRows ? 1L : 0L, await TestDatabases.SqliteScalarAsync(_directory,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'grain_state_adonet'"));
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

    [Theory]
    [InlineData(false, 0L)]
    [InlineData(true, 1L)]
    public async Task EnsureAsync_FromVersion3_DropsAnEmptyAdoNetTableAndKeepsOneWithRows(bool withRows, long keptRows)
    {
        var options = TestDatabases.Postgres(_schema);
        await VehicleSchema.EnsureToVersionAsync(options, 3);
        if (withRows)
        {
            await TestDatabases.PostgresScalarAsync<int>(
                $"WITH i AS (INSERT INTO \"{_schema}\".grain_state VALUES ('svc', 'state', 0, 0, 'VIN1', '\\x01', 1, now()) RETURNING 1) SELECT count(*)::integer FROM i");
        }

        var applied = await VehicleSchema.EnsureAsync(options);

        Assert.Equal(1, applied);
        Assert.Equal("service_id,grain_id,state_name,payload,version,modified_at", await TestDatabases.PostgresScalarAsync<string>(
            $"SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = '{_schema}' AND table_name = 'grain_state'"));
        Assert.Equal(keptRows, await TestDatabases.PostgresScalarAsync<long>(
            $"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{_schema}' AND table_name = 'grain_state_adonet'"));
        if (withRows)
        {
            Assert.Equal(1L, await TestDatabases.PostgresScalarAsync<long>($"SELECT COUNT(*) FROM \"{_schema}\".grain_state_adonet"));
        }

        Assert.Equal(0L, await TestDatabases.PostgresScalarAsync<long>(
            $"SELECT COUNT(*) FROM \"{_schema}\".orleansquery WHERE querykey LIKE '%StorageKey'"));
    }

    [Fact]
    public async Task EnsureAsync_StoresEveryQueryTheTwoAdoNetProvidersRead()
    {
        await VehicleSchema.EnsureAsync(TestDatabases.Postgres(_schema));

        var keys = await TestDatabases.PostgresScalarAsync<string>($"SELECT string_agg(querykey, ',' ORDER BY querykey COLLATE \"C\") FROM \"{_schema}\".orleansquery");

        Assert.Equal(
            "CleanupDefunctSiloEntriesKey,DeleteMembershipTableEntriesKey,DeleteReminderRowKey,DeleteReminderRowsKey,"
            + "GatewaysQueryKey,InsertMembershipKey,InsertMembershipVersionKey,MembershipReadAllKey,MembershipReadRowKey,"
            + "ReadRangeRows1Key,ReadRangeRows2Key,ReadReminderRowKey,ReadReminderRowsKey,UpdateIAmAlivetimeKey,"
            + "UpdateMembershipKey,UpsertReminderRowKey",
            keys);
    }
}
