using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Vehicles.Grains;

namespace Vehicles.Redis.Tests;

public sealed class ServiceCollectionTests
{
    [Fact]
    public void AddVehiclesRedis_WithoutClusterRedis_RegistersNothing()
    {
        var services = new ServiceCollection();

        services.AddVehiclesRedis(Configuration(new Dictionary<string, string?> { ["Cluster:RedisKeyPrefix"] = "x" }));

        Assert.Empty(services);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AddVehiclesRedis_BeforeOrAfterInProcessDefaults_ReplacesThem(bool defaultsFirst)
    {
        var services = new ServiceCollection().AddLogging();
        var configuration = Configuration(new Dictionary<string, string?>
        {
            ["Cluster:Redis"] = TestServers.Redis,
            ["Cluster:RedisKeyPrefix"] = TestServers.UniqueName("redis-di-"),
        });
        if (defaultsFirst)
        {
            AddInProcessDefaults(services);
        }

        services.AddVehiclesRedis(configuration);
        services.AddVehiclesRedis(configuration);
        if (!defaultsFirst)
        {
            AddInProcessDefaults(services);
        }

        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var bus = provider.GetRequiredService<IVehicleEventBus>();
        var geo = provider.GetRequiredService<IVehicleGeoIndex>();
        var hosted = Assert.Single(provider.GetServices<IHostedService>());
        await hosted.StartAsync(CancellationToken.None);
        var redis = provider.GetRequiredService<IConnectionMultiplexer>();
        await hosted.StopAsync(CancellationToken.None);

        Assert.IsType<RedisVehicleEventBus>(bus);
        Assert.IsType<RedisGeoIndex>(geo);
        Assert.Same(provider.GetRequiredService<RedisVehicleEventBus>(), bus);
        Assert.Same(provider.GetRequiredService<RedisGeoIndex>(), geo);
        Assert.Single(services, d => d.ServiceType == typeof(IVehicleEventBus));
        Assert.Single(services, d => d.ServiceType == typeof(IVehicleGeoIndex));
        Assert.True(redis.IsConnected);
    }

    [Fact]
    public void AddVehiclesRedis_BindsConnectionAndKeyPrefix()
    {
        var services = new ServiceCollection();
        services.AddVehiclesRedis(Configuration(new Dictionary<string, string?>
        {
            ["Cluster:Redis"] = "127.0.0.1:1",
            ["Cluster:RedisKeyPrefix"] = "fleet-a",
        }));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RedisOptions>>().Value;

        Assert.Equal("127.0.0.1:1", options.Configuration);
        Assert.Equal("fleet-a", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromSeconds(2), options.OperationTimeout);
    }

    [Fact]
    public void AddVehiclesRedis_WithoutKeyPrefix_UsesVehicles()
    {
        var services = new ServiceCollection();
        services.AddVehiclesRedis(Configuration(new Dictionary<string, string?> { ["Cluster:Redis"] = "127.0.0.1:1" }));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RedisOptions>>().Value;

        Assert.Equal("vehicles", options.KeyPrefix);
    }

    [Fact]
    public void AddVehiclesRedis_KeyPrefixWithGlobCharacters_FailsValidation()
    {
        var services = new ServiceCollection();
        services.AddVehiclesRedis(Configuration(new Dictionary<string, string?>
        {
            ["Cluster:Redis"] = "127.0.0.1:1",
            ["Cluster:RedisKeyPrefix"] = "fleet*",
        }));
        using var provider = services.BuildServiceProvider();

        Assert.Throws<ArgumentException>(() => provider.GetRequiredService<IOptions<RedisOptions>>().Value);
    }

    // As the grains register them: only when nothing else is.
    private static void AddInProcessDefaults(IServiceCollection services)
    {
        services.AddOptions<VehicleGrainOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IVehicleEventBus, InProcessVehicleEventBus>();
        services.TryAddSingleton<IVehicleGeoIndex, InMemoryVehicleGeoIndex>();
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values)
        => new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
