using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Vehicles.Storage.Tests;

public sealed class SqliteSiloTests : IDisposable
{
    private readonly string _directory = TestDatabases.UniqueDirectory();
    private readonly string _serviceId = "storage-test-" + Guid.NewGuid().ToString("N");

    public void Dispose() => TestDatabases.DeleteDirectory(_directory);

    [Fact]
    public async Task GrainState_AfterClusterRestart_IsReadBack()
    {
        await using (var cluster = await TestSilos.StartAsync(TestSilos.SqliteSettings(_directory), _serviceId))
        {
            await cluster.Client.GetGrain<IStateGrain>("VIN1").SetAsync("named", "default");
        }

        await using var restarted = await TestSilos.StartAsync(TestSilos.SqliteSettings(_directory), _serviceId);
        var state = await restarted.Client.GetGrain<IStateGrain>("VIN1").GetAsync();

        Assert.Equal(["named", "default"], state);
    }

    [Fact]
    public async Task GrainState_IsStoredAsPlainProtobufUnderItsStateName()
    {
        await using var cluster = await TestSilos.StartAsync(TestSilos.SqliteSettings(_directory), _serviceId);

        await cluster.Client.GetGrain<IStateGrain>("VIN1").SetAsync("named", "default");

        var payload = (byte[])(await TestDatabases.SqliteScalarAsync(_directory,
            $"SELECT payload FROM grain_state WHERE service_id = '{_serviceId}' AND state_name = 'storage-test-state' AND grain_id LIKE '%/VIN1'"))!;
        Assert.Equal("named", StringValue.Parser.ParseFrom(payload).Value);
        var defaultPayload = (byte[])(await TestDatabases.SqliteScalarAsync(_directory,
            $"SELECT payload FROM grain_state WHERE service_id = '{_serviceId}' AND state_name = 'storage-test-default-state' AND version = 1"))!;
        Assert.Equal("default", StringValue.Parser.ParseFrom(defaultPayload).Value);
    }

    [Fact]
    public async Task WriteState_WhenTheRowMovedOn_ThrowsInconsistentStateException()
    {
        await using var cluster = await TestSilos.StartAsync(TestSilos.SqliteSettings(_directory), _serviceId);
        var grain = cluster.Client.GetGrain<IStateGrain>("VIN1");
        await grain.SetAsync("first", "first");

        // Another writer (a second activation elsewhere) moved the record on behind this activation's back.
        await TestDatabases.SqliteScalarAsync(_directory,
            $"UPDATE grain_state SET version = version + 1 WHERE service_id = '{_serviceId}' AND state_name = 'storage-test-state'");

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetAsync("second", "second"));
    }

    [Fact]
    public async Task Reminder_AfterSiloRestart_IsStillRegistered()
    {
        await using (var cluster = await TestSilos.StartAsync(TestSilos.SqliteSettings(_directory), _serviceId))
        {
            await cluster.Client.GetGrain<IStateGrain>("VIN1").RegisterReminderAsync("checkpoint");
        }

        Assert.Equal(1L, await TestDatabases.SqliteScalarAsync(_directory,
            $"SELECT COUNT(*) FROM reminders WHERE service_id = '{_serviceId}' AND reminder_name = 'checkpoint'"));
        await using var restarted = await TestSilos.StartAsync(TestSilos.SqliteSettings(_directory), _serviceId);
        var names = await restarted.Client.GetGrain<IStateGrain>("VIN1").ReminderNamesAsync();

        Assert.Equal(["checkpoint"], names);
    }
}

public sealed class PostgresSiloTests : IAsyncLifetime
{
    private readonly string _schema = TestDatabases.UniqueSchema();
    private readonly string _serviceId = "storage-test-" + Guid.NewGuid().ToString("N");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => TestDatabases.DropSchemaAsync(_schema);

    [Fact]
    public async Task GrainState_AfterClusterRestart_IsReadBack()
    {
        await using (var cluster = await TestSilos.StartAsync(TestSilos.PostgresSettings(_schema), _serviceId))
        {
            await cluster.Client.GetGrain<IStateGrain>("VIN1").SetAsync("named", "default");
        }

        await using var restarted = await TestSilos.StartAsync(TestSilos.PostgresSettings(_schema), _serviceId);
        var state = await restarted.Client.GetGrain<IStateGrain>("VIN1").GetAsync();

        Assert.Equal(["named", "default"], state);
        Assert.Equal(2L, await TestDatabases.PostgresScalarAsync<long>(
            $"SELECT COUNT(*) FROM \"{_schema}\".grain_state WHERE service_id = '{_serviceId}' AND grain_id LIKE '%/VIN1'"));
    }

    [Fact]
    public async Task WriteState_WhenTheRowMovedOn_ThrowsInconsistentStateException()
    {
        await using var cluster = await TestSilos.StartAsync(TestSilos.PostgresSettings(_schema), _serviceId);
        var grain = cluster.Client.GetGrain<IStateGrain>("VIN1");
        await grain.SetAsync("first", "first");

        await TestDatabases.PostgresScalarAsync<int>(
            $"WITH moved AS (UPDATE \"{_schema}\".grain_state SET version = version + 1 WHERE state_name = 'storage-test-state' RETURNING 1) SELECT count(*)::integer FROM moved");

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetAsync("second", "second"));
    }

    [Fact]
    public async Task Reminder_IsStoredThroughOurStatements()
    {
        await using var cluster = await TestSilos.StartAsync(TestSilos.PostgresSettings(_schema), _serviceId);

        await cluster.Client.GetGrain<IStateGrain>("VIN1").RegisterReminderAsync("checkpoint");
        var names = await cluster.Client.GetGrain<IStateGrain>("VIN1").ReminderNamesAsync();

        Assert.Equal(["checkpoint"], names);
        Assert.Equal(1L, await TestDatabases.PostgresScalarAsync<long>(
            $"SELECT COUNT(*) FROM \"{_schema}\".reminders WHERE service_id = '{_serviceId}' AND reminder_name = 'checkpoint'"));
    }

    [Fact]
    public async Task Clustering_TwoSilos_JoinThroughOurMembershipTables()
    {
        var settings = TestSilos.PostgresSettings(_schema);
        settings["Cluster:Enabled"] = "true";

        await using var cluster = await TestSilos.StartAsync(settings, _serviceId, silos: 2, vehicleClustering: true);

        var membership = cluster.Silos[0].SiloHost.Services.GetRequiredService<IClusterMembershipService>();
        await TestSilos.WaitUntilAsync(
            () => Task.FromResult(membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) == 2),
            TimeSpan.FromSeconds(30),
            "both silos active in the first silo's view");
        Assert.Equal(2L, await TestDatabases.PostgresScalarAsync<long>(
            $"SELECT COUNT(*) FROM \"{_schema}\".membership WHERE cluster_id = '{_serviceId}' AND status = 3"));
        var grains = cluster.Silos[1].SiloHost.Services.GetRequiredService<IGrainFactory>();
        await grains.GetGrain<IStateGrain>("VIN1").SetAsync("clustered", "clustered");
        Assert.Equal(["clustered", "clustered"], await grains.GetGrain<IStateGrain>("VIN1").GetAsync());
    }
}
