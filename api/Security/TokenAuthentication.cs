using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Vehicles.Api.Security;

/// <summary>
/// Authentication and authorization of the vehicles.v1 services on ASP.NET Core: JwtBearer validates the
/// <c>authorization: Bearer &lt;jwt&gt;</c> header with <see cref="TokenService.ValidationParameters"/> and turns the
/// token into a <see cref="CallerIdentity"/>; the policies of <see cref="VehiclesPolicies"/> decide per service and
/// method; a refusal ends the call with UNAUTHENTICATED or PERMISSION_DENIED and a message the caller can act on,
/// before the handler runs. Health and reflection stay anonymous.
/// </summary>
public static partial class TokenAuthentication
{
    /// <summary>The authentication scheme (JwtBearer's default name).</summary>
    public const string Scheme = JwtBearerDefaults.AuthenticationScheme;

    /// <summary>
    /// Registers JwtBearer for our tokens, the <see cref="VehiclesPolicies"/> and the handler that answers refusals
    /// with gRPC statuses. Needs <see cref="TokenService"/> and <see cref="TimeProvider"/> in the container.
    /// </summary>
    public static IServiceCollection AddVehicleTokenAuthentication(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddAuthentication(Scheme).AddJwtBearer(Scheme, _ => { });
        services.AddOptions<JwtBearerOptions>(Scheme).Configure<TokenService, TimeProvider>((options, tokens, time) =>
        {
            options.TokenValidationParameters = tokens.ValidationParameters;
            options.MapInboundClaims = false;
            options.TimeProvider = time;
            options.Events = new JwtBearerEvents { OnTokenValidated = OnTokenValidatedAsync };
        });
        services.AddAuthorizationBuilder().AddVehiclesPolicies();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, CallerRequirementHandler>());
        services.Replace(ServiceDescriptor.Singleton<IAuthorizationMiddlewareResultHandler, GrpcAuthorizationResultHandler>());
        return services;
    }

    /// <summary>The caller JwtBearer authenticated for this call.</summary>
    /// <exception cref="RpcException">UNAUTHENTICATED: the call was not authenticated (its service has no policy).</exception>
    public static CallerIdentity GetCaller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetHttpContext().GetCaller()
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, MissingMessage));
    }

    /// <summary>The caller JwtBearer authenticated for this request, if any.</summary>
    public static CallerIdentity? GetCaller(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<CallerFeature>()?.Caller;
    }

    internal const string MissingMessage = "missing bearer token: send 'authorization: Bearer <token>'";

    /// <summary>What the caller of a refused call is told: that its token was missing, expired or otherwise invalid, never which check failed.</summary>
    internal static string UnauthenticatedMessage(AuthenticationFailure failure) => failure switch
    {
        AuthenticationFailure.Missing => MissingMessage,
        AuthenticationFailure.Expired => "the token has expired",
        _ => "invalid token",
    };

    // A signed token with the right issuer and audience must still name a valid vehicle or operator.
    private static Task OnTokenValidatedAsync(TokenValidatedContext context)
    {
        var result = context.SecurityToken is JsonWebToken jwt
            ? TokenService.ReadIdentity(jwt)
            : AuthenticationResult.Fail(AuthenticationFailure.Malformed, "not a JSON web token");
        if (result.Succeeded)
        {
            context.HttpContext.Features.Set(new CallerFeature(result.Identity));
        }
        else
        {
            context.Fail(new InvalidTokenClaimsException(result.Reason));
        }

        return Task.CompletedTask;
    }

    private sealed record CallerFeature(CallerIdentity Caller);
}

/// <summary>A signed, current token whose claims do not describe a vehicle or an operator.</summary>
public sealed class InvalidTokenClaimsException(string message) : SecurityTokenValidationException(message);

/// <summary>
/// Ends a refused gRPC call with its status in a trailers-only response (HTTP 200, <c>grpc-status</c>,
/// <c>grpc-message</c>) instead of ASP.NET Core's 401/403, which gRPC clients only see as "Bad gRPC response".
/// </summary>
internal sealed partial class GrpcAuthorizationResultHandler(ILogger<GrpcAuthorizationResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (authorizeResult.Succeeded)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        if (!IsGrpc(context.Request))
        {
            // Not a gRPC request: grpc-dotnet answers 415 Unsupported Media Type without running the handler.
            await (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null
                ? next(context)
                : _default.HandleAsync(next, context, policy, authorizeResult));
            return;
        }

        string message;
        StatusCode status;
        if (authorizeResult.Challenged)
        {
            // The handler keeps its result for the request: this reads why authentication failed, it does not validate again.
            var failure = TokenService.Failure((await context.AuthenticateAsync(TokenAuthentication.Scheme)).Failure);
            LogRefused(logger, context.Request.Path, context.Connection.RemoteIpAddress, failure.Failure, failure.Reason!);
            status = StatusCode.Unauthenticated;
            message = TokenAuthentication.UnauthenticatedMessage(failure.Failure);
        }
        else
        {
            status = StatusCode.PermissionDenied;
            message = authorizeResult.AuthorizationFailure?.FailureReasons.FirstOrDefault()?.Message ?? "permission denied";
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = GrpcMessage.Encode(message);
    }

    private static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Refused {Path} from {Peer}: {Failure} ({Reason})")]
    private static partial void LogRefused(ILogger logger, PathString path, System.Net.IPAddress? peer, AuthenticationFailure failure, string reason);
}

/// <summary>The percent-encoding of grpc-message (gRPC over HTTP/2): printable ASCII except '%' is sent as is, every other UTF-8 byte as %XX.</summary>
internal static class GrpcMessage
{
    public static string Encode(string message)
    {
        if (!message.AsSpan().ContainsAnyExceptInRange(' ', '~') && !message.Contains('%', StringComparison.Ordinal))
        {
            return message;
        }

        var builder = new System.Text.StringBuilder(message.Length * 3);
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(message))
        {
            if (b is >= (byte)' ' and <= (byte)'~' && b != (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
