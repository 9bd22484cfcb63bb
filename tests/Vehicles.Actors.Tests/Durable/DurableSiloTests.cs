using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Vehicles.Persistence;

namespace Vehicles.Actors.Tests.Durable;

/// <summary>
/// The runtime over real storage: state written by one silo, and reminders registered in it, are there for the
/// next silo over the same database. Runs against an SQLite file and against PostgreSQL.
/// </summary>
public abstract class DurableSiloTests : IAsyncLifetime
{
    protected abstract void ConfigureStorage(GrainStorageOptions options);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task State_WrittenByOneSilo_IsReadByTheNextSilo()
    {
        var time = new FakeTimeProvider();
        await using (var first = await StartSiloAsync(time))
        {
            await first.Runtime.GetGrain<IProfileGrain>("WVWZZZ1JZXW000001").SetNameAsync("written", write: true);
            await first.Runtime.StopAsync(CancellationToken.None);
        }

        await using var second = await StartSiloAsync(time);
        var profile = await second.Runtime.GetGrain<IProfileGrain>("WVWZZZ1JZXW000001").GetAsync();

        Assert.Equal("written", profile.Name);
        Assert.Equal(1, profile.Visits);
    }

    [Fact]
    public async Task Shutdown_FlushesEveryActivation_SoUnsavedStateSurvivesARestart()
    {
        var time = new FakeTimeProvider();
        var keys = Enumerable.Range(0, 50).Select(i => "grain-" + i).ToArray();
        await using (var first = await StartSiloAsync(time))
        {
            // write: false — only the grains' OnDeactivateAsync, run by the runtime's shutdown, stores these.
            await Task.WhenAll(keys.Select(k => first.Runtime.GetGrain<IProfileGrain>(k).SetNameAsync("name of " + k, write: false)));
            await first.Runtime.StopAsync(CancellationToken.None);
        }

        await using var second = await StartSiloAsync(time);
        var names = await Task.WhenAll(keys.Select(async k => (await second.Runtime.GetGrain<IProfileGrain>(k).GetAsync()).Name));

        Assert.Equal(keys.Select(k => "name of " + k), names);
    }

    [Fact]
    public async Task StaleActivation_CannotOverwriteANewerWrite()
    {
        var time = new FakeTimeProvider();
        await using var first = await StartSiloAsync(time);
        await using var second = await StartSiloAsync(time);
        var inFirst = first.Runtime.GetGrain<IProfileGrain>("contested");
        var inSecond = second.Runtime.GetGrain<IProfileGrain>("contested");
        await inFirst.GetAsync();
        await inSecond.SetNameAsync("from second", write: true);

        await Assert.ThrowsAsync<InconsistentStateException>(() => inFirst.SetNameAsync("from first", write: true));

        await using var third = await StartSiloAsync(time);
        Assert.Equal("from second", (await third.Runtime.GetGrain<IProfileGrain>("contested").GetAsync()).Name);
    }

    [Fact]
    public async Task Reminder_RegisteredBeforeARestart_FiresInTheNextSilo()
    {
        var time = new FakeTimeProvider();
        var probe = new Probe();
        await using (var first = await StartSiloAsync(time, probe))
        {
            await first.Runtime.GetGrain<IReminderGrain>("car").RegisterAsync("service", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
            await first.Runtime.StopAsync(CancellationToken.None);
        }

        await using var second = await StartSiloAsync(time, probe);
        time.Advance(TimeSpan.FromMinutes(1));

        await Eventually.Within(probe.Signal("reminder:car:service:1").Task);
        Assert.Single(probe.Events, e => e.StartsWith("reminder:car:service:", StringComparison.Ordinal));
    }

    private async Task<RealStorageSilo> StartSiloAsync(FakeTimeProvider time, Probe? probe = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton(probe ?? new Probe());
        services.AddGrainStorage(ConfigureStorage);
        services.AddActors();
        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<ActorRuntime>();
        await runtime.StartAsync(CancellationToken.None);
        return new RealStorageSilo(provider, runtime);
    }

    private sealed class RealStorageSilo(ServiceProvider services, ActorRuntime runtime) : IAsyncDisposable
    {
        public ActorRuntime Runtime => runtime;

        public async ValueTask DisposeAsync()
        {
            await runtime.DisposeAsync();
            await services.DisposeAsync();
        }
    }
}

public sealed class SqliteDurableSiloTests : DurableSiloTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vehicles-actors-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureStorage(GrainStorageOptions options)
    {
        options.Provider = StorageProvider.Sqlite;
        options.DataDirectory = _folder;
    }

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        return Task.CompletedTask;
    }
}

public sealed class PostgresDurableSiloTests : DurableSiloTests
{
    private readonly string _schema = "actors_" + Guid.NewGuid().ToString("N")[..12];

    private static string ConnectionString => Environment.GetEnvironmentVariable("VEHICLES_TEST_POSTGRES")
        ?? throw new InvalidOperationException("VEHICLES_TEST_POSTGRES is not set: run ./scripts/test.sh, or eval \"$(scripts/servers.sh start)\" first.");

    protected override void ConfigureStorage(GrainStorageOptions options)
    {
        options.Provider = StorageProvider.PostgreSql;
        options.ConnectionString = ConnectionString;
        options.Schema = _schema;
    }

    public override async Task DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
