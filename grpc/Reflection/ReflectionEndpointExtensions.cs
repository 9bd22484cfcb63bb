using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Vehicles.Grpc.Server;

namespace Vehicles.Grpc.Reflection;

/// <summary>Maps server reflection.</summary>
public static class ReflectionEndpointExtensions
{
    /// <summary>Maps <c>grpc.reflection.v1.ServerReflection</c> and the deprecated <c>v1alpha</c> one that many tools still call.</summary>
    public static IEndpointConventionBuilder MapGrpcReflectionService(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGrpcService<ReflectionServiceImpl>(global::Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0]);
        var v1Alpha = endpoints.MapGrpcService<ReflectionV1AlphaServiceImpl>(global::Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0]);
        return new PairConventionBuilder(v1, v1Alpha);
    }

    private sealed class PairConventionBuilder(IEndpointConventionBuilder first, IEndpointConventionBuilder second) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            first.Add(convention);
            second.Add(convention);
        }
    }
}
