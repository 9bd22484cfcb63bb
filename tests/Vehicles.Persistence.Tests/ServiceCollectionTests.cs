using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Vehicles.Persistence.Tests;

public sealed class ServiceCollectionTests : IDisposable
{
    private readonly string _directory = TestDatabases.UniqueDirectory();

    public void Dispose() => TestDatabases.DeleteDirectory(_directory);

    [Fact]
    public async Task AddGrainStorage_WithSqliteSection_RegistersSqliteStoresAndMigratesAtStart()
    {
        await using var services = Build(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Sqlite",
            ["Storage:DataDirectory"] = _directory,
        });

        var storage = services.GetRequiredService<IGrainStorage>();
        var keyed = services.GetRequiredKeyedService<IGrainStorage>(PersistenceServiceCollectionExtensions.DefaultStorageName);
        var reminders = services.GetRequiredService<IReminderTable>();
        var firstHostedService = services.GetServices<IHostedService>().First();
        await firstHostedService.StartAsync(CancellationToken.None);

        var sqlite = Assert.IsType<SqliteGrainStorage>(storage);
        Assert.Same(storage, keyed);
        Assert.IsType<SqliteReminderTable>(reminders);
        Assert.IsType<StorageMigrationService>(firstHostedService);
        Assert.Equal(Path.Combine(_directory, "vehicles.db"), sqlite.DatabasePath);
        Assert.True(File.Exists(sqlite.DatabasePath));
    }

    [Fact]
    public async Task AddGrainStorage_WithPostgreSqlSection_RegistersWorkingPostgresStores()
    {
        var schema = TestDatabases.UniqueSchema();
        try
        {
            await using var services = Build(new Dictionary<string, string?>
            {
                ["Storage:Provider"] = "PostgreSql",
                ["Storage:ConnectionString"] = TestDatabases.PostgresConnectionString,
                ["Storage:Schema"] = schema,
            });

            var storage = services.GetRequiredService<IGrainStorage>();
            var reminders = services.GetRequiredService<IReminderTable>();
            var etag = await storage.WriteAsync("vehicle", "VIN1", new byte[] { 7 }, expectedEtag: null);
            await reminders.UpsertAsync(new ReminderEntry("vehicle", "VIN1", "heartbeat", DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(1)));

            Assert.IsType<PostgresGrainStorage>(storage);
            Assert.IsType<PostgresReminderTable>(reminders);
            Assert.Equal(etag, (await storage.ReadAsync("vehicle", "VIN1"))!.Etag);
            Assert.Single(await reminders.ReadAllAsync());
        }
        finally
        {
            await using var dataSource = NpgsqlDataSource.Create(TestDatabases.PostgresConnectionString);
            await TestDatabases.DropSchemaAsync(dataSource, schema);
        }
    }

    [Fact]
    public async Task ServiceProvider_DisposedSynchronously_ClosesStoresWithoutThrowing()
    {
        var services = Build(new Dictionary<string, string?> { ["Storage:DataDirectory"] = _directory });
        var etag = await services.GetRequiredService<IGrainStorage>().WriteAsync("vehicle", "VIN1", new byte[] { 1 }, expectedEtag: null);
        await services.GetRequiredService<IReminderTable>().ReadAllAsync();

        services.Dispose();

        await using var reopened = new SqliteGrainStorage(new GrainStorageOptions { DataDirectory = _directory });
        Assert.Equal(etag, (await reopened.ReadAsync("vehicle", "VIN1"))!.Etag);
    }

    [Fact]
    public void AddGrainStorage_WithPostgreSqlAndNoConnectionString_FailsWithClearMessage()
    {
        using var services = new ServiceCollection()
            .AddGrainStorage(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "PostgreSql" })
                .Build())
            .BuildServiceProvider();

        var exception = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IGrainStorage>());

        Assert.Contains("Storage:ConnectionString", exception.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IHostedService, OtherHostedService>();
        services.AddGrainStorage(configuration);
        return services.BuildServiceProvider();
    }

    /// <summary>A service registered before the storage: the migration must still start first.</summary>
    private sealed class OtherHostedService : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
