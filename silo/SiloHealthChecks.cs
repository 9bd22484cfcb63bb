using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;
using Vehicles.Storage;

namespace Vehicles.Silo;

/// <summary>
/// The health checks behind grpc.health.v1.Health (Grpc.AspNetCore.HealthChecks). The server as a whole ("") and each
/// vehicles.v1 service are SERVING while this silo is an active member that can reach its storage: a load balancer
/// stops routing to a silo that is leaving, stopping, cut off from the membership table or from its database. Each
/// component also has a service name of its own ("vehicles.silo", "vehicles.storage", "vehicles.redis"). Redis reports
/// NOT_SERVING under its own name only: without it a silo still serves (events stay on the silo, geo queries fail).
/// </summary>
internal static class SiloHealthChecks
{
    public const string Silo = "vehicles.silo";
    public const string Storage = "vehicles.storage";
    public const string Redis = "vehicles.redis";

    /// <summary>Tag of the checks that decide whether the silo serves.</summary>
    public const string Serving = "serving";

    /// <summary>The service names that report the silo's serving state.</summary>
    public static readonly string[] ServingServices =
    [
        string.Empty,
        "vehicles.v1.VehicleLink",
        "vehicles.v1.FleetOperator",
        "vehicles.v1.ClusterAdmin",
    ];

    /// <summary>Registers the checks and maps them to health service names.</summary>
    public static IServiceCollection AddVehiclesHealthChecks(this IServiceCollection services)
    {
        services.AddGrpcHealthChecks(options =>
        {
            foreach (var name in ServingServices)
            {
                options.Services.Map(name, result => result.Tags.Contains(Serving));
            }

            options.Services.Map(Silo, result => result.Name == Silo);
            options.Services.Map(Storage, result => result.Name == Storage);
            options.Services.Map(Redis, result => result.Name == Redis);
        })
            .AddCheck<MembershipHealthCheck>(Silo, tags: [Serving])
            .AddCheck<StorageHealthCheck>(Storage, tags: [Serving])
            .AddCheck<RedisHealthCheck>(Redis);

        // Watchers learn a change within a second (the default publisher runs every 30 s).
        services.Configure<HealthCheckPublisherOptions>(options =>
        {
            options.Delay = TimeSpan.Zero;
            options.Period = TimeSpan.FromSeconds(1);
        });
        return services;
    }
}

/// <summary>Healthy while this silo is Active in the cluster's membership, holds its lease and is not stopping.</summary>
internal sealed class MembershipHealthCheck(
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    MembershipLease lease,
    IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the silo is shutting down"));
        }

        var status = membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress);
        if (status != SiloStatus.Active)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the silo is " + status + " in the cluster membership"));
        }

        return Task.FromResult(lease.IsHeld
            ? HealthCheckResult.Healthy("active member of the cluster")
            : HealthCheckResult.Unhealthy("the silo could not confirm its membership recently (cut off from the membership table)"));
    }
}

/// <summary>Healthy while the grain state table answers a query within two seconds.</summary>
internal sealed class StorageHealthCheck(BatchedGrainStorage storage) : IHealthCheck
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await storage.ProbeAsync(timeout.Token).WaitAsync(timeout.Token);
            return HealthCheckResult.Healthy("the grain state table answers");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the storage did not answer within " + _timeout.TotalSeconds + " s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("the storage cannot be read: " + ex.Message, ex);
        }
    }
}

/// <summary>Healthy while the Redis connection is up, or when the silo uses no Redis (events stay in process).</summary>
internal sealed class RedisHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<IConnectionMultiplexer>() is not { } redis)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no Redis configured: events stay on this silo"));
        }

        return Task.FromResult(redis.IsConnected
            ? HealthCheckResult.Healthy("connected")
            : HealthCheckResult.Unhealthy("Redis is not reachable: events stay on this silo and geo queries fail"));
    }
}
