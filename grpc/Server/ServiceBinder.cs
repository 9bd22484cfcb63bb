using System.Reflection;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using MethodDescriptor = Google.Protobuf.Reflection.MethodDescriptor;

namespace Vehicles.Grpc.Server;

/// <summary>
/// Binds the methods of a protobuf service descriptor to the handler methods of a service class, once at
/// startup, into delegates wrapped by the interceptor pipeline.
/// </summary>
internal static class ServiceBinder
{
    private static readonly MethodInfo _bindMethod = typeof(ServiceBinder).GetMethod(nameof(BindMethod), BindingFlags.NonPublic | BindingFlags.Static)!;

    public static List<(string Path, RequestDelegate Handler)> Bind<TService>(
        ServiceDescriptor service,
        GrpcServerRuntime runtime,
        IReadOnlyList<Interceptor> interceptors,
        IServiceProvider services)
        where TService : class
    {
        var activator = ServiceActivator<TService>.Create(services);
        var routes = new List<(string, RequestDelegate)>(service.Methods.Count);
        foreach (var method in service.Methods)
        {
            var requestType = method.InputType.ClrType;
            var responseType = method.OutputType.ClrType;
            if (requestType is null || responseType is null)
            {
                throw new InvalidOperationException($"Method '{method.FullName}' has message types without generated classes.");
            }

            var bind = _bindMethod.MakeGenericMethod(typeof(TService), requestType, responseType);
            try
            {
                routes.Add(((string, RequestDelegate))bind.Invoke(null, [method, runtime, interceptors, activator])!);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }

        return routes;
    }

    private static (string, RequestDelegate) BindMethod<TService, TRequest, TResponse>(
        MethodDescriptor descriptor,
        GrpcServerRuntime runtime,
        IReadOnlyList<Interceptor> interceptors,
        ServiceActivator<TService> activator)
        where TService : class
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var method = Grpc.Method.Create<TRequest, TResponse>(descriptor);
        var handlerMethod = FindHandler<TService>(descriptor, method.Type, typeof(TRequest), typeof(TResponse));
        Delegate? pipeline = handlerMethod is null ? null : method.Type switch
        {
            MethodType.Unary => BuildUnary<TService, TRequest, TResponse>(activator, handlerMethod, interceptors),
            MethodType.ClientStreaming => BuildClientStreaming<TService, TRequest, TResponse>(activator, handlerMethod, interceptors),
            MethodType.ServerStreaming => BuildServerStreaming<TService, TRequest, TResponse>(activator, handlerMethod, interceptors),
            _ => BuildDuplex<TService, TRequest, TResponse>(activator, handlerMethod, interceptors),
        };
        var handler = new ServerMethodHandler<TRequest, TResponse>(method, runtime, pipeline);
        return (method.FullName, handler.HandleAsync);
    }

    private static MethodInfo? FindHandler<TService>(MethodDescriptor descriptor, MethodType type, Type request, Type response)
    {
        var candidates = typeof(TService).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name == descriptor.Name)
            .ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var (parameters, returnType, shape) = type switch
        {
            MethodType.Unary => (
                new[] { request, typeof(ServerCallContext) },
                typeof(Task<>).MakeGenericType(response),
                $"Task<{response.Name}> {descriptor.Name}({request.Name} request, ServerCallContext context)"),
            MethodType.ClientStreaming => (
                new[] { typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(ServerCallContext) },
                typeof(Task<>).MakeGenericType(response),
                $"Task<{response.Name}> {descriptor.Name}(IAsyncStreamReader<{request.Name}> requestStream, ServerCallContext context)"),
            MethodType.ServerStreaming => (
                new[] { request, typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext) },
                typeof(Task),
                $"Task {descriptor.Name}({request.Name} request, IServerStreamWriter<{response.Name}> responseStream, ServerCallContext context)"),
            _ => (
                new[] { typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext) },
                typeof(Task),
                $"Task {descriptor.Name}(IAsyncStreamReader<{request.Name}> requestStream, IServerStreamWriter<{response.Name}> responseStream, ServerCallContext context)"),
        };

        foreach (var candidate in candidates)
        {
            if (candidate.ReturnType == returnType
                && candidate.GetParameters().Select(p => p.ParameterType).SequenceEqual(parameters))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"{typeof(TService).FullName}.{descriptor.Name} does not match the {type} method '{descriptor.FullName}': it must be declared as public {shape}.");
    }

    private static UnaryServerMethod<TRequest, TResponse> BuildUnary<TService, TRequest, TResponse>(
        ServiceActivator<TService> activator, MethodInfo handler, IReadOnlyList<Interceptor> interceptors)
        where TService : class
        where TRequest : class
        where TResponse : class
    {
        var invoker = handler.CreateDelegate<Func<TService, TRequest, ServerCallContext, Task<TResponse>>>();
        UnaryServerMethod<TRequest, TResponse> pipeline = activator.NeedsRelease
            ? async (request, context) =>
            {
                var service = activator.Create(context);
                try
                {
                    return await invoker(service, request, context);
                }
                finally
                {
                    await activator.ReleaseAsync(service);
                }
            }
            : (request, context) => invoker(activator.Create(context), request, context);
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = (request, context) => interceptor.UnaryServerHandler(request, context, next);
        }

        return pipeline;
    }

    private static ClientStreamingServerMethod<TRequest, TResponse> BuildClientStreaming<TService, TRequest, TResponse>(
        ServiceActivator<TService> activator, MethodInfo handler, IReadOnlyList<Interceptor> interceptors)
        where TService : class
        where TRequest : class
        where TResponse : class
    {
        var invoker = handler.CreateDelegate<Func<TService, IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>>>();
        ClientStreamingServerMethod<TRequest, TResponse> pipeline = async (requests, context) =>
        {
            var service = activator.Create(context);
            try
            {
                return await invoker(service, requests, context);
            }
            finally
            {
                await activator.ReleaseAsync(service);
            }
        };
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = (requests, context) => interceptor.ClientStreamingServerHandler(requests, context, next);
        }

        return pipeline;
    }

    private static ServerStreamingServerMethod<TRequest, TResponse> BuildServerStreaming<TService, TRequest, TResponse>(
        ServiceActivator<TService> activator, MethodInfo handler, IReadOnlyList<Interceptor> interceptors)
        where TService : class
        where TRequest : class
        where TResponse : class
    {
        var invoker = handler.CreateDelegate<Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task>>();
        ServerStreamingServerMethod<TRequest, TResponse> pipeline = async (request, responses, context) =>
        {
            var service = activator.Create(context);
            try
            {
                await invoker(service, request, responses, context);
            }
            finally
            {
                await activator.ReleaseAsync(service);
            }
        };
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = (request, responses, context) => interceptor.ServerStreamingServerHandler(request, responses, context, next);
        }

        return pipeline;
    }

    private static DuplexStreamingServerMethod<TRequest, TResponse> BuildDuplex<TService, TRequest, TResponse>(
        ServiceActivator<TService> activator, MethodInfo handler, IReadOnlyList<Interceptor> interceptors)
        where TService : class
        where TRequest : class
        where TResponse : class
    {
        var invoker = handler.CreateDelegate<Func<TService, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task>>();
        DuplexStreamingServerMethod<TRequest, TResponse> pipeline = async (requests, responses, context) =>
        {
            var service = activator.Create(context);
            try
            {
                await invoker(service, requests, responses, context);
            }
            finally
            {
                await activator.ReleaseAsync(service);
            }
        };
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = (requests, responses, context) => interceptor.DuplexStreamingServerHandler(requests, responses, context, next);
        }

        return pipeline;
    }
}

/// <summary>
/// Gets the service instance of a call: the one instance of a singleton registration (resolved once, so
/// the hot path touches no DI scope); from the request's scope for other registrations; otherwise created
/// per call with a factory compiled once (and disposed after the call).
/// </summary>
internal sealed class ServiceActivator<TService>
    where TService : class
{
    private readonly TService? _singleton;
    private readonly bool _registered;
    private readonly ObjectFactory<TService>? _factory;

    private ServiceActivator(TService? singleton, bool registered)
    {
        _singleton = singleton;
        _registered = registered;
        if (!registered)
        {
            _factory = ActivatorUtilities.CreateFactory<TService>([]);
        }
    }

    public static ServiceActivator<TService> Create(IServiceProvider services)
    {
        var lifetimes = services.GetService<GrpcServiceLifetimes>();
        if (lifetimes?.IsSingleton(typeof(TService)) == true)
        {
            return new ServiceActivator<TService>(services.GetRequiredService<TService>(), registered: true);
        }

        var isService = services.GetService<IServiceProviderIsService>();
        return new ServiceActivator<TService>(null, isService?.IsService(typeof(TService)) ?? false);
    }

    /// <summary>Whether instances must be disposed after a call.</summary>
    public bool NeedsRelease => !_registered
        && (typeof(IDisposable).IsAssignableFrom(typeof(TService)) || typeof(IAsyncDisposable).IsAssignableFrom(typeof(TService)));

    public TService Create(ServerCallContext context)
    {
        if (_singleton is not null)
        {
            return _singleton;
        }

        var services = context.GetHttpContext().RequestServices;
        return _registered ? services.GetRequiredService<TService>() : _factory!(services, null);
    }

    public ValueTask ReleaseAsync(TService service)
    {
        if (_registered)
        {
            return ValueTask.CompletedTask;
        }

        if (service is IAsyncDisposable asyncDisposable)
        {
            return asyncDisposable.DisposeAsync();
        }

        (service as IDisposable)?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The service registrations as <c>AddGrpc</c> saw them, kept to learn a service's lifetime when it is
/// mapped (the container does not expose lifetimes).
/// </summary>
internal sealed class GrpcServiceLifetimes(IServiceCollection services)
{
    public bool IsSingleton(Type serviceType)
    {
        Microsoft.Extensions.DependencyInjection.ServiceDescriptor? last = null;
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == serviceType && !descriptor.IsKeyedService)
            {
                last = descriptor;
            }
        }

        return last?.Lifetime == ServiceLifetime.Singleton;
    }
}
