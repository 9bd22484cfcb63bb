using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;
using Vehicles.Actors;
using Vehicles.Grains;

namespace Vehicles.Cluster;

/// <summary>Registers clustering in a silo.</summary>
public static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Makes this silo a cluster member when <c>Cluster:Enabled</c> is true (otherwise does nothing): PostgreSQL
    /// membership on <c>Storage:ConnectionString</c> with gRPC probes, rendezvous placement, silo-to-silo calls and
    /// session pushes, the Redis event bus and geo index. Call before the grains are registered (their in-process
    /// defaults are only added when nothing else is) and map <see cref="SiloService"/> with <see cref="MapSiloService"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The root configuration.</param>
    /// <param name="clusterKey">The key silos present to each other (<see cref="ClusterOptions.DeriveClusterKey"/>).</param>
    /// <returns>Whether clustering is enabled.</returns>
    public static bool AddVehiclesCluster(this IServiceCollection services, IConfiguration configuration, ClusterKey clusterKey)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(ClusterOptions.SectionName);
        var options = section.Get<ClusterOptions>() ?? new ClusterOptions();
        if (!options.Enabled)
        {
            return false;
        }

        var connectionString = configuration["Storage:ConnectionString"];
        if (!string.Equals(configuration["Storage:Provider"], "PostgreSql", StringComparison.OrdinalIgnoreCase) || string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException("Cluster:Enabled needs Storage:Provider=PostgreSql and Storage:ConnectionString: every silo must see the same grain state.");
        }

        if (string.IsNullOrWhiteSpace(options.Redis))
        {
            throw new InvalidOperationException("Cluster:Enabled needs Cluster:Redis (for example 127.0.0.1:6379): change events and the geo index go through Redis.");
        }

        var endpoint = options.Endpoint ?? configuration["Grpc:Address"];
        if (string.IsNullOrWhiteSpace(endpoint) || endpoint.EndsWith(":0", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Cluster:Enabled needs a fixed Grpc:Address (or Cluster:Endpoint): other silos connect to it.");
        }

        services.Configure<ClusterOptions>(section);
        services.AddSingleton(clusterKey);
        services.AddSingleton<GrainMessageCodec>();
        services.AddSingleton<SiloConnections>();
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton(sp => new MembershipService(
            sp.GetRequiredService<NpgsqlDataSource>(),
            Options.Create(new MembershipOptions
            {
                Schema = options.Schema,
                Endpoint = endpoint,
                HeartbeatInterval = options.HeartbeatInterval,
                SuspectAfter = options.SuspectAfter,
                VotesForDeath = options.VotesForDeath,
                MissedProbesLimit = options.MissedProbesLimit,
            }),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MembershipService>>(),
            new GrpcSiloProber(sp.GetRequiredService<SiloConnections>()),
            () => sp.GetRequiredService<ActorRuntime>().ActivationCount));
        services.AddSingleton(sp => RendezvousPlacementDirector.FollowMembership(sp.GetRequiredService<MembershipService>()));
        services.AddSingleton<IPlacementDirector>(sp => sp.GetRequiredService<RendezvousPlacementDirector>());
        services.AddSingleton(sp =>
        {
            // Order matters: placement subscribes to membership before the runtime does, so it is current when the runtime rebalances.
            _ = sp.GetRequiredService<RendezvousPlacementDirector>();
            return ActivatorUtilities.CreateInstance<ClusterRuntime>(sp);
        });
        services.AddSingleton<IGrainCallTransport>(sp => sp.GetRequiredService<ClusterRuntime>());
        services.AddSingleton<IGrainActivationGate>(sp => sp.GetRequiredService<ClusterRuntime>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ClusterRuntime>());
        services.AddSingleton<Grpc.Server.IGrpcServerStoppingSignal>(sp => sp.GetRequiredService<ClusterRuntime>());
        services.AddSingleton<VehicleSessionDirectory>();
        services.AddSingleton<IVehicleSessionDirectory>(sp => new ClusterSessionDirectory(
            sp.GetRequiredService<VehicleSessionDirectory>(),
            sp.GetRequiredService<SiloConnections>(),
            endpoint,
            sp.GetRequiredService<ILogger<ClusterSessionDirectory>>()));
        services.AddSingleton<SiloService>();

        services.Configure<RedisClusterOptions>(redis => redis.KeyPrefix = options.RedisKeyPrefix);
        services.AddSingleton<IConnectionMultiplexer>(_ => RedisConnector.ConnectAsync(options.Redis).GetAwaiter().GetResult());
        services.AddSingleton<IVehicleEventBus, RedisVehicleEventBus>();
        services.AddSingleton<RedisGeoIndex>();
        services.AddSingleton<IVehicleGeoIndex>(sp => sp.GetRequiredService<RedisGeoIndex>());
        return true;
    }

    /// <summary>Maps the silo-to-silo service when clustering is enabled.</summary>
    public static void MapSiloService(this Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<SiloService>() is not null)
        {
            Grpc.Server.GrpcServerExtensions.MapGrpcService<SiloService>(endpoints, V1.SiloReflection.Descriptor.Services[0]);
        }
    }
}

/// <summary>Probes silos over the gRPC layer (<c>vehicles.cluster.v1.Silo/Probe</c>).</summary>
internal sealed class GrpcSiloProber(SiloConnections connections) : ISiloProber
{
    public Task<bool> ProbeAsync(SiloAddress silo, CancellationToken cancellationToken) => connections.ProbeAsync(silo, cancellationToken);
}
