using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Vehicles.Grains;

/// <summary>Registers what the vehicle grains need besides Orleans itself.</summary>
public static class GrainsServiceCollectionExtensions
{
    /// <summary>The grain storage provider the vehicle and fleet grains keep their state in.</summary>
    public const string StorageName = "vehicles";

    /// <summary>
    /// Registers <see cref="VehicleGrainOptions"/> bound from the section <c>"Vehicles"</c> and the silo-local defaults
    /// of <see cref="IVehicleEventBus"/> (in process) and <see cref="IVehicleGeoIndex"/> (in memory), unless others are
    /// registered. The grains themselves are found by Orleans (Microsoft.Orleans.Sdk generates their metadata); grain
    /// storage named <see cref="StorageName"/> and the reminder service come from the silo's storage configuration.
    /// </summary>
    public static IServiceCollection AddVehicleGrains(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddVehicleGrains(configuration.GetSection(VehicleGrainOptions.SectionName).Bind);
    }

    /// <summary>Registers the vehicle grains' services with options set in code; see <see cref="AddVehicleGrains(IServiceCollection, IConfiguration)"/>.</summary>
    public static IServiceCollection AddVehicleGrains(this IServiceCollection services, Action<VehicleGrainOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<VehicleGrainOptions>().Configure(configure).Validate(
            o =>
            {
                o.Validate();
                return true;
            });
        services.TryAddSingleton<IVehicleEventBus, InProcessVehicleEventBus>();
        services.TryAddSingleton<IVehicleGeoIndex, InMemoryVehicleGeoIndex>();
        return services;
    }
}
