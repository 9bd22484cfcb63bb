using Grpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Vehicles.Grpc.Server;

namespace Vehicles.Grpc.Health;

/// <summary>Maps the health service.</summary>
public static class HealthEndpointExtensions
{
    /// <summary>Maps <c>grpc.health.v1.Health</c>, served by the <see cref="HealthServiceImpl"/> singleton that <c>AddGrpc</c> registers.</summary>
    public static IEndpointConventionBuilder MapGrpcHealthChecks(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<HealthServiceImpl>(HealthReflection.Descriptor.Services[0]);
}
