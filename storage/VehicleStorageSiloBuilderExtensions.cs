using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Vehicles.Storage;

/// <summary>Registers grain storage, reminders and clustering on our schema.</summary>
public static class VehicleStorageSiloBuilderExtensions
{
    /// <summary>The name of the grain storage provider; it is also registered as the default provider.</summary>
    public const string StorageProviderName = "vehicles";

    /// <summary>
    /// Registers our batched grain storage (<see cref="PostgresGrainStorage"/> or <see cref="SqliteGrainStorage"/>,
    /// per <c>Storage:Provider</c>) as the provider <see cref="StorageProviderName"/> and as the default provider: one
    /// instance under both names, with <see cref="ProtobufGrainStorageSerializer"/>. Reminders are Orleans' ADO.NET
    /// reminders on PostgreSQL and <see cref="SqliteReminderTable"/> on SQLite. All from the section
    /// <see cref="VehicleStorageOptions.SectionName"/>. The schema is created and migrated in the silo lifecycle before
    /// the providers start. Sets <see cref="ClusterOptions"/> from <see cref="VehicleClusterOptions.SectionName"/>.
    /// </summary>
    public static ISiloBuilder AddVehicleStorage(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configuration);
        var storage = BindStorage(silo, configuration);
        ConfigureClusterIds(silo, BindCluster(configuration));

        silo.Services.TryAddSingleton(provider =>
            new ProtobufGrainStorageSerializer(new OrleansGrainStorageSerializer(provider.GetRequiredService<Serializer>())));
        silo.Services.AddSingleton<BatchedGrainStorage>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<VehicleStorageOptions>>().Value;
            var serviceId = provider.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId;
            var serializer = provider.GetRequiredService<ProtobufGrainStorageSerializer>();
            var activators = provider.GetRequiredService<IActivatorProvider>();
            return options.Provider == VehicleStorageProvider.PostgreSql
                ? new PostgresGrainStorage(StorageProviderName, options, serviceId, serializer, activators, provider.GetService<ILogger<PostgresGrainStorage>>())
                : new SqliteGrainStorage(StorageProviderName, options, serviceId, serializer, activators, provider.GetService<ILogger<SqliteGrainStorage>>());
        });
        foreach (var name in new[] { StorageProviderName, ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME })
        {
            silo.Services.AddKeyedSingleton<IGrainStorage>(name, (provider, _) => provider.GetRequiredService<BatchedGrainStorage>());
        }

        silo.Services.TryAddSingleton<IGrainStorage>(provider => provider.GetRequiredService<BatchedGrainStorage>());
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(provider => provider.GetRequiredService<BatchedGrainStorage>());

        if (storage.Provider == VehicleStorageProvider.PostgreSql)
        {
            var connectionString = StorageConnections.PostgresConnectionString(storage);
            silo.UseAdoNetReminderService(options =>
            {
                options.Invariant = StorageConnections.PostgresInvariant;
                options.ConnectionString = connectionString;
            });
        }
        else
        {
            silo.AddReminders();
            silo.Services.AddSingleton<IReminderTable, SqliteReminderTable>();
        }

        return silo;
    }

    /// <summary>
    /// With <c>Cluster:Enabled</c> = <see langword="true"/> (which requires <c>Storage:Provider</c> = <c>PostgreSql</c>),
    /// silos find each other through Orleans' ADO.NET clustering on our membership tables, advertising
    /// <c>Cluster:AdvertisedAddress</c>; otherwise a single silo with localhost clustering. Both on
    /// <c>Cluster:SiloPort</c> and <c>Cluster:GatewayPort</c>, with the fixed <c>Cluster:ServiceId</c> and
    /// <c>Cluster:ClusterId</c>. Membership options and TLS are left to the host.
    /// </summary>
    public static ISiloBuilder UseVehicleClustering(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configuration);
        var cluster = BindCluster(configuration);
        if (!cluster.Enabled)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            return silo;
        }

        var storage = BindStorage(silo, configuration);
        if (storage.Provider != VehicleStorageProvider.PostgreSql)
        {
            throw new InvalidOperationException("Cluster:Enabled requires Storage:Provider = PostgreSql (Orleans has no SQLite clustering).");
        }

        ConfigureClusterIds(silo, cluster);
        silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort);
        var connectionString = StorageConnections.PostgresConnectionString(storage);
        silo.UseAdoNetClustering(options =>
        {
            options.Invariant = StorageConnections.PostgresInvariant;
            options.ConnectionString = connectionString;
        });
        return silo;
    }

    /// <summary>Binds and validates the storage section, registers it as options and the schema migration (once).</summary>
    private static VehicleStorageOptions BindStorage(ISiloBuilder silo, IConfiguration configuration)
    {
        var section = configuration.GetSection(VehicleStorageOptions.SectionName);
        var options = new VehicleStorageOptions();
        section.Bind(options);
        options.Validate();
        silo.Services.AddOptions<VehicleStorageOptions>().Bind(section);
        silo.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, SchemaMigrationParticipant>());
        return options;
    }

    private static VehicleClusterOptions BindCluster(IConfiguration configuration)
    {
        var options = new VehicleClusterOptions();
        configuration.GetSection(VehicleClusterOptions.SectionName).Bind(options);
        options.Validate();
        return options;
    }

    private static void ConfigureClusterIds(ISiloBuilder silo, VehicleClusterOptions cluster) =>
        silo.Configure<ClusterOptions>(options =>
        {
            options.ServiceId = cluster.ServiceId;
            options.ClusterId = cluster.ClusterId;
        });
}
