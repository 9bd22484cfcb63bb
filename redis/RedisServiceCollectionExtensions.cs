using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Vehicles.Grains;

namespace Vehicles.Redis;

/// <summary>Registers the Redis-backed vehicle event bus and geo index.</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// When <c>Cluster:Redis</c> is set (otherwise does nothing): registers the shared <see cref="IConnectionMultiplexer"/>
    /// (unless one is registered already), <see cref="RedisVehicleEventBus"/> as <see cref="IVehicleEventBus"/> and
    /// <see cref="RedisGeoIndex"/> as <see cref="IVehicleGeoIndex"/>, and a hosted service that opens the connection at
    /// start and writes the pending positions at stop. The two Redis services replace whatever was registered for those
    /// interfaces, so this wins over the grains' in-process defaults whether it is called before or after them.
    /// <see cref="RedisOptions"/> come from <c>Cluster:Redis</c> and <c>Cluster:RedisKeyPrefix</c> and are validated at start.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The root configuration.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddVehiclesRedis(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (string.IsNullOrWhiteSpace(configuration[RedisOptions.ConfigurationKey]))
        {
            return services;
        }

        services.AddOptions<RedisOptions>()
            .Configure(options =>
            {
                options.Configuration = configuration[RedisOptions.ConfigurationKey];
                if (configuration[RedisOptions.KeyPrefixKey] is { Length: > 0 } prefix)
                {
                    options.KeyPrefix = prefix;
                }
            })
            .Validate(
                options =>
                {
                    options.Validate();
                    return true;
                })
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
            RedisConnector.Connect(sp.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration!));

        services.TryAddSingleton<RedisVehicleEventBus>();
        services.RemoveAll<IVehicleEventBus>();
        services.AddSingleton<IVehicleEventBus>(sp => sp.GetRequiredService<RedisVehicleEventBus>());

        services.TryAddSingleton<RedisGeoIndex>();
        services.RemoveAll<IVehicleGeoIndex>();
        services.AddSingleton<IVehicleGeoIndex>(sp => sp.GetRequiredService<RedisGeoIndex>());

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisHostedService>());
        return services;
    }
}
