using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Vehicles.Actors;

namespace Vehicles.Grains;

/// <summary>Registers the vehicle grains and their silo-local services.</summary>
public static class GrainsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="VehicleGrain"/> and <see cref="FleetGrain"/> with the actor runtime (added if missing),
    /// <see cref="IVehicleSessionDirectory"/>, <see cref="IVehicleEventBus"/> (in-process, unless one is already
    /// registered) and <see cref="VehicleGrainOptions"/> bound from the section <c>"Vehicles"</c>. Grain storage and the
    /// reminder table come from <c>AddGrainStorage</c>.
    /// </summary>
    public static IServiceCollection AddVehicleGrains(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddVehicleGrains(configuration.GetSection(VehicleGrainOptions.SectionName).Bind);
    }

    /// <summary>Registers the vehicle grains with options set in code; see <see cref="AddVehicleGrains(IServiceCollection, IConfiguration)"/>.</summary>
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
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IVehicleSessionDirectory, VehicleSessionDirectory>();
        services.TryAddSingleton<IVehicleEventBus, InProcessVehicleEventBus>();
        services.TryAddSingleton<IVehicleGeoIndex, InMemoryVehicleGeoIndex>();
        var actors = services.AddActors();
        if (!services.Any(d => d.ServiceType == typeof(GrainsMarker)))
        {
            services.AddSingleton<GrainsMarker>();
            actors.AddGrain<VehicleGrain>().AddGrain<FleetGrain>();
        }

        return services;
    }

    private sealed class GrainsMarker;
}
