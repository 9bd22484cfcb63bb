using Vehicles.Actors;
using Vehicles.Api;
using Vehicles.Api.Services;
using Vehicles.Cluster;
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
        AddCluster(builder);
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
        app.MapSiloService();
        return app;
    }

    // Before the api and grains: their in-process defaults (session directory, event bus, geo index) are only added
    // when clustering has not registered its own.
    private static void AddCluster(WebApplicationBuilder builder)
    {
        if (!builder.Configuration.GetValue<bool>("Cluster:Enabled"))
        {
            return;
        }

        var signingKey = builder.Configuration["Tokens:SigningKey"];
        if (string.IsNullOrWhiteSpace(signingKey))
        {
            throw new InvalidOperationException(
                "Cluster:Enabled needs Tokens:SigningKey (base64, at least 32 bytes), the same on every silo: a token minted by one silo must be accepted by all.");
        }

        builder.Services.AddVehiclesCluster(builder.Configuration, new ClusterKey(ClusterOptions.DeriveClusterKey(signingKey)));
        builder.Services.AddSingleton<IClusterStatusProvider, MembershipStatusProvider>();
    }
}
