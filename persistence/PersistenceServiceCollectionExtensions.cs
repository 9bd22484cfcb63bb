using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Vehicles.Persistence;

/// <summary>Registers grain storage and the reminder table.</summary>
public static class PersistenceServiceCollectionExtensions
{
    /// <summary>The service key of the default grain storage (Orleans' <c>"Default"</c> provider name).</summary>
    public const string DefaultStorageName = "Default";

    /// <summary>
    /// Registers <see cref="IGrainStorage"/> (unkeyed and keyed <see cref="DefaultStorageName"/>) and
    /// <see cref="IReminderTable"/> as singletons, with options bound from the section
    /// <see cref="GrainStorageOptions.SectionName"/> of <paramref name="configuration"/>, and a hosted service,
    /// started before the others, that creates and migrates the schema.
    /// </summary>
    public static IServiceCollection AddGrainStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddGrainStorage(configuration.GetSection(GrainStorageOptions.SectionName).Bind);
    }

    /// <summary>Registers grain storage and the reminder table with options set in code.</summary>
    public static IServiceCollection AddGrainStorage(this IServiceCollection services, Action<GrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<GrainStorageOptions>().Configure(configure);

        services.TryAddSingleton(provider => PostgresDataSourceHolder.Create(Options(provider)));
        services.TryAddSingleton<IGrainStorage>(provider =>
        {
            var options = Options(provider);
            return options.Provider switch
            {
                StorageProvider.PostgreSql => new PostgresGrainStorage(
                    provider.GetRequiredService<PostgresDataSourceHolder>().DataSource,
                    options,
                    provider.GetService<ILogger<PostgresGrainStorage>>()),
                _ => new SqliteGrainStorage(options, provider.GetService<ILogger<SqliteGrainStorage>>()),
            };
        });
        services.TryAddKeyedSingleton<IGrainStorage>(DefaultStorageName, (provider, _) => provider.GetRequiredService<IGrainStorage>());
        services.TryAddSingleton<IReminderTable>(provider =>
        {
            var options = Options(provider);
            return options.Provider switch
            {
                StorageProvider.PostgreSql => new PostgresReminderTable(
                    provider.GetRequiredService<PostgresDataSourceHolder>().DataSource,
                    options,
                    provider.GetService<ILogger<PostgresReminderTable>>()),
                _ => new SqliteReminderTable(options, provider.GetService<ILogger<SqliteReminderTable>>()),
            };
        });

        // First in the list, so hosts start it before any service that may read grain state.
        if (!services.Any(descriptor => descriptor.ImplementationType == typeof(StorageMigrationService)))
        {
            services.Insert(0, ServiceDescriptor.Singleton<IHostedService, StorageMigrationService>());
        }

        return services;
    }

    private static GrainStorageOptions Options(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<GrainStorageOptions>>().Value;
        options.Validate();
        return options;
    }

    /// <summary>The data source this registration owns; kept apart from any NpgsqlDataSource the app registers.</summary>
    private sealed class PostgresDataSourceHolder(NpgsqlDataSource? dataSource) : IAsyncDisposable
    {
        public NpgsqlDataSource DataSource => dataSource
            ?? throw new InvalidOperationException("Storage:Provider is not PostgreSql; there is no PostgreSQL data source.");

        public static PostgresDataSourceHolder Create(GrainStorageOptions options)
            => new(options.Provider == StorageProvider.PostgreSql ? NpgsqlDataSource.Create(options.ConnectionString!) : null);

        public ValueTask DisposeAsync() => dataSource?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
