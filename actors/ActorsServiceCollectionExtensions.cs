using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Vehicles.Actors;

/// <summary>Configures grain classes of the actor runtime.</summary>
public interface IActorsBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }

    /// <summary>Registers a grain class (classes in projects that use Vehicles.CodeGen are found without this).</summary>
    IActorsBuilder AddGrain<TGrain>()
        where TGrain : Grain;

    /// <summary>Registers every concrete grain class of an assembly.</summary>
    IActorsBuilder AddGrainsFromAssembly(Assembly assembly);
}

/// <summary>Registers the actor runtime.</summary>
public static class ActorsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the runtime as <see cref="IGrainFactory"/>, <see cref="ActorRuntime"/> and a hosted service, with
    /// <see cref="TimeProvider.System"/>, the default state serializer and local placement unless already registered.
    /// Grain storage (<c>IGrainStorage</c>, keyed by provider name or unkeyed) and <c>IReminderTable</c> come from the
    /// persistence registrations.
    /// </summary>
    public static IActorsBuilder AddActors(this IServiceCollection services, Action<ActorsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ActorsOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IGrainStateSerializer, GrainStateSerializer>();
        services.TryAddSingleton<IPlacementDirector, LocalPlacementDirector>();
        var registrations = services.FirstOrDefault(d => d.ServiceType == typeof(GrainClassRegistrations))?.ImplementationInstance as GrainClassRegistrations;
        if (registrations is null)
        {
            registrations = new GrainClassRegistrations();
            services.AddSingleton(registrations);
            services.AddSingleton(sp => new ActorRuntime(sp, sp.GetRequiredService<GrainClassRegistrations>().Types));
            services.AddSingleton<IGrainFactory>(sp => sp.GetRequiredService<ActorRuntime>());
            services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ActorRuntime>());
        }

        return new ActorsBuilder(services, registrations);
    }

    /// <summary>Registers the runtime with options bound from the configuration section <c>"Actors"</c>.</summary>
    public static IActorsBuilder AddActors(this IHostApplicationBuilder builder, Action<ActorsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Bound first so that the delegate, registered after, has the last word over configuration.
        builder.Services.AddOptions<ActorsOptions>().Bind(builder.Configuration.GetSection(ActorsOptions.SectionName));
        return builder.Services.AddActors(configure);
    }

    private sealed class GrainClassRegistrations
    {
        public List<Type> Types { get; } = [];
    }

    private sealed class ActorsBuilder(IServiceCollection services, GrainClassRegistrations registrations) : IActorsBuilder
    {
        public IServiceCollection Services => services;

        public IActorsBuilder AddGrain<TGrain>()
            where TGrain : Grain
        {
            registrations.Types.Add(typeof(TGrain));
            return this;
        }

        public IActorsBuilder AddGrainsFromAssembly(Assembly assembly)
        {
            ArgumentNullException.ThrowIfNull(assembly);
            registrations.Types.AddRange(assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } && typeof(Grain).IsAssignableFrom(t)));
            return this;
        }
    }
}
