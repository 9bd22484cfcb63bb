namespace Vehicles.Grpc;

/// <summary>
/// Adds metadata to every call of a channel just before it is sent, such as
/// <c>authorization: Bearer …</c>; like <c>Grpc.Core.CallCredentials</c>.
/// </summary>
public abstract class CallCredentials
{
    /// <summary>Credentials that run an asynchronous callback per call.</summary>
    public static CallCredentials FromInterceptor(AsyncAuthInterceptor interceptor)
    {
        ArgumentNullException.ThrowIfNull(interceptor);
        return new InterceptorCredentials(interceptor);
    }

    /// <summary>Adds this call's credential metadata.</summary>
    internal abstract Task ApplyAsync(AuthInterceptorContext context, Metadata metadata);

    private sealed class InterceptorCredentials(AsyncAuthInterceptor interceptor) : CallCredentials
    {
        internal override Task ApplyAsync(AuthInterceptorContext context, Metadata metadata) => interceptor(context, metadata);
    }
}

/// <summary>
/// Adds credential metadata to a call. Throwing an <see cref="RpcException"/> fails the call with its status;
/// any other exception fails it with UNAVAILABLE.
/// </summary>
public delegate Task AsyncAuthInterceptor(AuthInterceptorContext context, Metadata metadata);

/// <summary>What an <see cref="AsyncAuthInterceptor"/> knows about the call it authenticates.</summary>
public sealed class AuthInterceptorContext
{
    /// <summary>Creates the context.</summary>
    public AuthInterceptorContext(string serviceUrl, string methodName, CancellationToken cancellationToken = default)
    {
        ServiceUrl = serviceUrl;
        MethodName = methodName;
        CancellationToken = cancellationToken;
    }

    /// <summary>The URL of the service, such as <c>https://host:port/package.Service</c>.</summary>
    public string ServiceUrl { get; }

    /// <summary>The method name, such as <c>Echo</c>.</summary>
    public string MethodName { get; }

    /// <summary>Cancelled when the call is.</summary>
    public CancellationToken CancellationToken { get; }
}
