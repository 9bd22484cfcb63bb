using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Vehicles.Grpc.Health;
using Vehicles.Grpc.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Vehicles.Grpc.Server;

/// <summary>Registers and maps gRPC services, like grpc-dotnet's <c>AddGrpc</c> and <c>MapGrpcService</c>.</summary>
public static class GrpcServerExtensions
{
    /// <summary>Adds the gRPC server's services: options, routing, the health service and the reflection service.</summary>
    public static IServiceCollection AddGrpc(this IServiceCollection services, Action<GrpcServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRouting();
        services.AddOptions<GrpcServiceOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GrpcServiceRegistry>();
        services.TryAddSingleton(new GrpcServiceLifetimes(services));
        services.TryAddSingleton<GrpcServerState>();
        services.TryAddSingleton<HealthServiceImpl>();
        services.TryAddSingleton<ReflectionServiceImpl>();
        services.TryAddSingleton<ReflectionV1AlphaServiceImpl>();
        return services;
    }

    /// <summary>
    /// Maps the methods of a service: each method of <paramref name="service"/> is served by the public
    /// method of <typeparamref name="TService"/> with the same name and the grpc-dotnet signature of its
    /// kind. A method without a handler answers UNIMPLEMENTED; a handler with the wrong signature fails here.
    /// </summary>
    /// <typeparam name="TService">The implementation: resolved from DI when registered, otherwise created per call.</typeparam>
    public static IEndpointConventionBuilder MapGrpcService<TService>(this IEndpointRouteBuilder endpoints, ServiceDescriptor service)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(service);
        var provider = endpoints.ServiceProvider;
        var registry = provider.GetService<GrpcServiceRegistry>()
            ?? throw new InvalidOperationException("Call services.AddGrpc() before mapping gRPC services.");
        var state = provider.GetRequiredService<GrpcServerState>();
        var routes = ServiceBinder.Bind<TService>(service, state.Runtime, state.Interceptors, provider);
        registry.Add(service);

        var builders = new List<IEndpointConventionBuilder>(routes.Count + 1);
        foreach (var (path, handler) in routes)
        {
            builders.Add(endpoints.MapPost(path, handler).WithDisplayName("gRPC - " + path));
        }

        if (!registry.UnimplementedRouteMapped)
        {
            registry.UnimplementedRouteMapped = true;
            var pattern = RoutePatternFactory.Parse(
                "{" + UnimplementedHandler.ServiceParameter + "}/{" + UnimplementedHandler.MethodParameter + "}",
                defaults: null,
                parameterPolicies: new RouteValueDictionary { [UnimplementedHandler.MethodParameter] = new GrpcContentTypeConstraint() });
            builders.Add(endpoints.Map(pattern, UnimplementedHandler.Create(registry))
                .WithMetadata(new HttpMethodMetadata(["POST"]))
                .WithDisplayName("gRPC - unimplemented"));
        }

        return new CompositeConventionBuilder(builders);
    }

    /// <summary>The HTTP context of a call served by this server.</summary>
    /// <exception cref="InvalidOperationException">The context does not come from this server.</exception>
    public static HttpContext GetHttpContext(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context is IHttpContextServerCallContext httpCall
            ? httpCall.HttpContext
            : throw new InvalidOperationException($"Could not get HttpContext from ServerCallContext of type {context.GetType().Name}.");
    }

    private sealed class CompositeConventionBuilder(List<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }
    }
}

/// <summary>What the server builds once per application: the runtime and the interceptor instances.</summary>
internal sealed class GrpcServerState
{
    public GrpcServerState(IServiceProvider services, IOptions<GrpcServiceOptions> options)
    {
        var value = options.Value;
        Runtime = GrpcServerRuntime.Create(services, value);
        var interceptors = new List<Interceptor>(value.Interceptors.Count);
        foreach (var type in value.Interceptors)
        {
            if (!typeof(Interceptor).IsAssignableFrom(type))
            {
                throw new InvalidOperationException($"Type '{type.FullName}' is not an Interceptor.");
            }

            interceptors.Add((Interceptor)(services.GetService(type) ?? ActivatorUtilities.CreateInstance(services, type)));
        }

        Interceptors = interceptors;
    }

    public GrpcServerRuntime Runtime { get; }

    public IReadOnlyList<Interceptor> Interceptors { get; }
}
