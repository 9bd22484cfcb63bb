using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Serialization;
using Vehicles.Api;
using Vehicles.Api.Services;
using Vehicles.Grains.Serialization;
using Vehicles.Redis;
using Vehicles.Storage;

namespace Vehicles.Silo;

/// <summary>Composes a silo: the gRPC server and an Orleans silo in one WebApplication, with storage, clustering and Redis.</summary>
public static class SiloHostingExtensions
{
    /// <summary>
    /// Registers everything a silo runs, with options from configuration (appsettings.json, then environment
    /// variables such as <c>Grpc__Address</c> or <c>Storage__Provider</c>; the README lists every key).
    /// </summary>
    public static WebApplicationBuilder AddVehiclesSilo(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        if (configuration.GetValue<bool>("Cluster:Enabled") && string.IsNullOrWhiteSpace(configuration["Tokens:SigningKey"]))
        {
            throw new InvalidOperationException(
                "Cluster:Enabled needs Tokens:SigningKey (base64, at least 32 bytes), the same on every silo: a token minted by one silo must be accepted by all.");
        }

        builder.WebHost.ConfigureGrpcEndpoints(configuration.GetSection("Grpc"));

        // Outermost interceptor: a silo that cannot confirm it is still a member answers nothing (see MembershipLease).
        // AddVehiclesApi adds authentication and the error mapping after it.
        builder.Services.AddGrpc(options =>
        {
            configuration.GetSection("Grpc:Service").Bind(options);
            options.Interceptors.Add<MembershipLeaseInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        builder.UseOrleans(silo =>
        {
            silo.UseVehicleClustering(configuration);
            silo.AddVehicleStorage(configuration);
            silo.Services.AddSerializer(serializer => serializer.AddProtobufMessages());
            silo.ConfigureSiloOptions(configuration);
            silo.UseClusterTls(configuration);
            silo.Services.Replace(ServiceDescriptor.Singleton<IFatalErrorHandler, ExitOnFatalError>());
            if (SiloTelemetry.TracesEnabled(configuration))
            {
                silo.AddActivityPropagation();
            }
        });

        // After the silo: the health publisher then starts once the silo has started (its storage schema is in place).
        builder.Services.AddVehiclesHealthChecks();
        builder.Services.AddVehiclesTelemetry(configuration);
        builder.Services.AddVehiclesRedis(configuration);
        builder.Services.AddVehiclesApi(configuration);
        builder.Services.AddSingleton<IClusterStatusProvider, OrleansClusterStatusProvider>();
        builder.Services.AddHostedService<SessionLifetime>();
        builder.Services.AddSingleton<MembershipLease>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<MembershipLease>());
        builder.Services.AddSingleton<MembershipLeaseInterceptor>();
        return builder;
    }

    /// <summary>Maps the gRPC services a silo serves: health, reflection and the Vehicles API.</summary>
    public static WebApplication MapVehiclesSilo(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapVehiclesApi();
        app.MapVehiclesMetrics();
        return app;
    }

    // Orleans options from our configuration keys. Failure detection is tuned so that a silo killed with kill -9 is
    // declared dead in about a second (ProbeTimeout = MaxProbeTimeout = 1 s, two missed probes, one vote), well within
    // the 5 s the cluster promises; every value can be overridden under Cluster:Membership.
    private static void ConfigureSiloOptions(this ISiloBuilder silo, ConfigurationManager configuration)
    {
        silo.Configure<SiloOptions>(options => options.SiloName = configuration["Grpc:Address"] ?? "127.0.0.1:50051");
        silo.Configure<ClusterMembershipOptions>(options =>
        {
            options.ProbeTimeout = TimeSpan.FromSeconds(1);
            options.MaxProbeTimeout = TimeSpan.FromSeconds(1);
            options.NumMissedProbesLimit = 2;
            options.NumVotesForDeathDeclaration = 1;
            configuration.GetSection("Cluster:Membership").Bind(options);
        });
        var actors = configuration.GetSection("Actors");
        silo.Configure<GrainCollectionOptions>(options =>
        {
            if (actors.GetValue<TimeSpan?>("CollectionAge") is { } age)
            {
                options.CollectionAge = age;
            }
        });
        silo.Configure<SiloMessagingOptions>(options =>
        {
            if (actors.GetValue<TimeSpan?>("CallTimeout") is { } timeout)
            {
                options.ResponseTimeout = timeout;
                options.SystemResponseTimeout = timeout;
            }

            // Orleans has no limit by default; ours has always bounded a grain's queue (a full one is RESOURCE_EXHAUSTED).
            options.MaxEnqueuedRequestsHardLimit = actors.GetValue<int?>("MailboxCapacity") ?? 10_000;
        });
    }
}
