using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace Vehicles.Grpc.Server;

/// <summary>Answers gRPC requests for services or methods the server does not have.</summary>
internal static class UnimplementedHandler
{
    public const string ServiceParameter = "unimplementedService";
    public const string MethodParameter = "unimplementedMethod";

    public static RequestDelegate Create(GrpcServiceRegistry registry) => httpContext =>
    {
        if (!ServerProtocol.TryValidateRequest(httpContext))
        {
            return Task.CompletedTask;
        }

        var service = httpContext.Request.RouteValues[ServiceParameter] as string;
        var message = service is not null && registry.IsMapped(service)
            ? "Method is unimplemented."
            : "Service is unimplemented.";
        return WriteUnimplemented(httpContext, message);
    };

    public static Task WriteUnimplemented(HttpContext httpContext, string message)
    {
        var response = httpContext.Response;
        response.Headers.ContentType = ServerProtocol.ContentTypeValue;
        ServerProtocol.WriteStatus(response.Headers, new Status(StatusCode.Unimplemented, message), null, null);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Matches the catch-all route only for gRPC requests, so that other POST endpoints keep their 404s; put on its
/// method parameter.
/// </summary>
/// <remarks>
/// As an <see cref="IParameterLiteralNodeMatchingPolicy"/> it also keeps the catch-all out of the routing tree
/// wherever an endpoint has a literal method segment (every mapped gRPC method): that endpoint wins there anyway,
/// and otherwise every call of a mapped method would also capture the catch-all's route values (two strings and a
/// dictionary) and run this constraint before the matcher discards the catch-all.
/// </remarks>
internal sealed class GrpcContentTypeConstraint : IRouteConstraint, IParameterLiteralNodeMatchingPolicy
{
    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
        httpContext is null || GrpcProtocol.IsGrpcContentType(httpContext.Request.ContentType);

    public bool MatchesLiteral(string parameterName, string literal) => false;
}
