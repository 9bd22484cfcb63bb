using Microsoft.Extensions.Logging;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Vehicles.Api.Security;

/// <summary>
/// Authenticates every vehicles.v1 call: reads <c>authorization: Bearer &lt;jwt&gt;</c>, validates it with
/// <see cref="TokenService"/> and stores the <see cref="CallerIdentity"/> in <see cref="ServerCallContext.UserState"/>
/// (read it with <see cref="CallerContext.GetCaller"/>). Other services (health, reflection) stay anonymous.
/// A refused token ends the call with UNAUTHENTICATED before the handler runs.
/// </summary>
public sealed partial class AuthInterceptor : Interceptor
{
    private const string ProtectedPrefix = "/vehicles.v1.";

    private readonly TokenService _tokens;
    private readonly ILogger<AuthInterceptor> _logger;

    /// <summary>Creates the interceptor.</summary>
    public AuthInterceptor(TokenService tokens, ILogger<AuthInterceptor> logger)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(logger);
        _tokens = tokens;
        _logger = logger;
    }

    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        await AuthenticateAsync(context);
        return await continuation(request, context);
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        await AuthenticateAsync(context);
        return await continuation(requestStream, context);
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        await AuthenticateAsync(context);
        await continuation(request, responseStream, context);
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        await AuthenticateAsync(context);
        await continuation(requestStream, responseStream, context);
    }

    private async ValueTask AuthenticateAsync(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Method.StartsWith(ProtectedPrefix, StringComparison.Ordinal))
        {
            return;
        }

        var result = await _tokens.ValidateAsync(context.RequestHeaders.GetValue("authorization"));
        if (!result.Succeeded)
        {
            LogRefused(_logger, context.Method, context.Peer, result.Failure);

            // The caller learns that its token was missing, expired or otherwise invalid, never which check failed.
            var message = result.Failure switch
            {
                AuthenticationFailure.Missing => "missing bearer token: send 'authorization: Bearer <token>'",
                AuthenticationFailure.Expired => "the token has expired",
                _ => "invalid token",
            };
            throw new RpcException(new Status(StatusCode.Unauthenticated, message));
        }

        context.UserState[CallerContext.Key] = result.Identity;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refused {Method} from {Peer}: {Failure}")]
    private static partial void LogRefused(ILogger logger, string method, string peer, AuthenticationFailure failure);
}

/// <summary>Reads the caller that <see cref="AuthInterceptor"/> authenticated.</summary>
public static class CallerContext
{
    /// <summary>The <see cref="ServerCallContext.UserState"/> key of the caller.</summary>
    public static readonly object Key = typeof(CallerIdentity);

    /// <summary>The authenticated caller of this call.</summary>
    /// <exception cref="RpcException">UNAUTHENTICATED: no caller was stored (the interceptor is not registered).</exception>
    public static CallerIdentity GetCaller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(Key, out var caller) && caller is CallerIdentity identity
            ? identity
            : throw new RpcException(new Status(StatusCode.Unauthenticated, "missing bearer token"));
    }
}
