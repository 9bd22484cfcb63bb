using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Vehicles.Grpc.Server;

/// <summary>What every call of the server shares: options, clock, logger, shutdown signal.</summary>
internal sealed class GrpcServerRuntime
{
    public GrpcServerRuntime(GrpcServiceOptions options, TimeProvider timeProvider, ILogger logger, CancellationToken stopping)
    {
        Options = options;
        TimeProvider = timeProvider;
        Logger = logger;
        Stopping = stopping;
        MaxReceiveMessageSize = options.MaxReceiveMessageSize ?? int.MaxValue;
        MaxDecompressedMessageSize = options.MaxDecompressedMessageSize ?? MaxReceiveMessageSize;
        MaxSendMessageSize = options.MaxSendMessageSize ?? int.MaxValue;
        if (options.ResponseCompressionAlgorithm is not null
            && !string.Equals(options.ResponseCompressionAlgorithm, GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"Response compression '{options.ResponseCompressionAlgorithm}' is not supported; use null or '{GrpcProtocol.GzipEncoding}'.");
        }

        CompressResponses = options.ResponseCompressionAlgorithm is not null;
    }

    public GrpcServiceOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    public CancellationToken Stopping { get; }

    public int MaxReceiveMessageSize { get; }

    public int MaxDecompressedMessageSize { get; }

    public int MaxSendMessageSize { get; }

    public bool CompressResponses { get; }

    public static GrpcServerRuntime Create(IServiceProvider services, GrpcServiceOptions options)
    {
        var loggerFactory = (ILoggerFactory?)services.GetService(typeof(ILoggerFactory));
        var logger = loggerFactory?.CreateLogger("Vehicles.Grpc.Server") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var time = (TimeProvider?)services.GetService(typeof(TimeProvider)) ?? TimeProvider.System;
        var stopping = (IGrpcServerStoppingSignal?)services.GetService(typeof(IGrpcServerStoppingSignal));
        var lifetime = (IHostApplicationLifetime?)services.GetService(typeof(IHostApplicationLifetime));
        return new GrpcServerRuntime(options, time, logger, stopping?.Stopping ?? lifetime?.ApplicationStopping ?? CancellationToken.None);
    }
}

/// <summary>The request delegate of one method, with its interceptor pipeline built once.</summary>
internal sealed class ServerMethodHandler<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    public ServerMethodHandler(Method<TRequest, TResponse> method, GrpcServerRuntime runtime, Delegate? invoker)
    {
        Method = method;
        Runtime = runtime;
        Invoker = invoker;
    }

    public Method<TRequest, TResponse> Method { get; }

    public GrpcServerRuntime Runtime { get; }

    /// <summary>The pipeline: a delegate of the method's kind, or <see langword="null"/> when unimplemented.</summary>
    public Delegate? Invoker { get; }

    public Task HandleAsync(HttpContext httpContext)
    {
        if (!ServerProtocol.TryValidateRequest(httpContext))
        {
            return Task.CompletedTask;
        }

        if (Invoker is null)
        {
            return UnimplementedHandler.WriteUnimplemented(httpContext, "Method is unimplemented.");
        }

        var call = new ServerCall<TRequest, TResponse>(httpContext, this);
        return call.RunAsync();
    }
}
