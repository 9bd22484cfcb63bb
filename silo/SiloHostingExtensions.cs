using Vehicles.Actors;
using Vehicles.Api;
using Vehicles.Grpc.Health;
using Vehicles.Grpc.Reflection;
using Vehicles.Grpc.Server;
using Vehicles.Persistence;

namespace Vehicles.Silo;

/// <summary>Composes a silo: the gRPC server, grain storage, the actor runtime and the services they host.</summary>
public static class SiloHostingExtensions
{
    /// <summary>
    /// Registers everything a silo runs, with options from configuration (appsettings.json, then
    /// environment variables such as <c>Grpc__Address</c> or <c>Storage__Provider</c>).
    /// </summary>
    public static WebApplicationBuilder AddVehiclesSilo(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WebHost.ConfigureGrpcEndpoints(builder.Configuration.GetSection("Grpc"));
        builder.Services.AddGrpc(options => builder.Configuration.GetSection("Grpc:Service").Bind(options));
        builder.Services.AddGrainStorage(builder.Configuration);
        builder.AddActors();
        builder.Services.AddVehiclesApi(builder.Configuration);
        return builder;
    }

    /// <summary>Maps the gRPC services a silo serves: health, reflection and the Vehicles API.</summary>
    public static WebApplication MapVehiclesSilo(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcHealthChecks();
        app.MapGrpcReflectionService();
        app.MapVehiclesApi();
        return app;
    }
}
