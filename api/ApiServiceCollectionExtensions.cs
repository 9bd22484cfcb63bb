using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Api.Security;
using Vehicles.Api.Services;
using Vehicles.Api.Sessions;
using Vehicles.Api.Validation;
using Vehicles.Grains;

namespace Vehicles.Api;

/// <summary>Registers and maps the vehicles.v1 API.</summary>
public static partial class ApiServiceCollectionExtensions
{
    /// <summary>
    /// Registers the API: the vehicle grains (<c>AddVehicleGrains</c>), <see cref="TokenService"/> (section
    /// <c>"Tokens"</c>; without a signing key there, the key in the data folder, see <see cref="SigningKeyStore"/>),
    /// <see cref="RequestValidator"/> (section <c>"Validation"</c>), <see cref="VehicleLinkOptions"/> (section
    /// <c>"VehicleLink"</c>), token authentication and the policies (<see cref="TokenAuthentication"/>) and the
    /// <see cref="GrainErrorInterceptor"/> of every gRPC service. Call <c>AddGrpc</c> (Grpc.AspNetCore) as well, and
    /// <c>UseAuthentication</c>/<c>UseAuthorization</c> before <see cref="MapVehiclesApi"/>.
    /// </summary>
    public static IServiceCollection AddVehiclesApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddVehicleGrains(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<VehicleLinkOptions>()
            .Bind(configuration.GetSection(VehicleLinkOptions.SectionName))
            .Validate(
                options =>
                {
                    options.EnsureValid();
                    return true;
                })
            .ValidateOnStart();
        services.AddOptions<ValidationOptions>().Bind(configuration.GetSection(ValidationOptions.SectionName));
        services.TryAddSingleton(provider =>
        {
            var options = SigningKeyStore.LoadOptions(configuration, out var keyFile, out var created);
            if (keyFile is not null)
            {
                var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger<TokenService>();
                LogKeyFile(logger, created ? "Created a new" : "Using the", keyFile);
            }

            return new TokenService(options, provider.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(provider => new RequestValidator(
            provider.GetRequiredService<IOptions<ValidationOptions>>().Value, provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<VehicleSessions>();
        services.AddMetrics();
        services.TryAddSingleton<ApiMetrics>();
        services.AddVehicleTokenAuthentication();
        services.TryAddSingleton<GrainErrorInterceptor>();
        services.TryAddSingleton<VehicleLinkService>();
        services.TryAddSingleton<FleetOperatorService>();
        services.TryAddSingleton<ClusterAdminService>();
        services.Configure<GrpcServiceOptions>(options =>
        {
            // Orleans' exceptions become statuses. Callers are authenticated and authorized before any interceptor runs.
            options.Interceptors.Add<GrainErrorInterceptor>();
        });
        return services;
    }

    /// <summary>Maps vehicles.v1.VehicleLink and vehicles.v1.FleetOperator.</summary>
    public static IEndpointRouteBuilder MapVehiclesApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGrpcService<VehicleLinkService>();
        endpoints.MapGrpcService<FleetOperatorService>();
        endpoints.MapGrpcService<ClusterAdminService>();
        return endpoints;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Action} token signing key file {KeyFile}: set Tokens:SigningKey to manage the key yourself")]
    private static partial void LogKeyFile(ILogger logger, string action, string keyFile);
}
