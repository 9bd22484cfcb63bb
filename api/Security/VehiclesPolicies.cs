using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Vehicles.Api.Security;

/// <summary>
/// The authorization policies of the vehicles.v1 services, one per kind of caller. Services and methods name them in
/// <c>[Authorize(Policy = ...)]</c>; what depends on the request (the VIN a vehicle speaks for, the fleets an operator
/// covers, the role a command needs) is checked by the handler, which has the request.
/// </summary>
public static class VehiclesPolicies
{
    /// <summary>A vehicle token: VehicleLink. The handler binds it to the VIN it names.</summary>
    public const string Vehicle = "vehicle";

    /// <summary>An operator token of any role: FleetOperator's reads and watches.</summary>
    public const string Viewer = "viewer";

    /// <summary>An operator token with the operator or admin role: sending and cancelling commands.</summary>
    public const string Operator = "operator";

    /// <summary>An operator token with the admin role: ClusterAdmin.</summary>
    public const string Admin = "admin";

    /// <summary>Adds the four policies; each requires an authenticated caller first (else UNAUTHENTICATED).</summary>
    public static AuthorizationBuilder AddVehiclesPolicies(this AuthorizationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddPolicy(Vehicle, Policy(new CallerRequirement(
                caller => caller is VehicleIdentity,
                (_, _) => "only vehicle tokens may use VehicleLink")))
            .AddPolicy(Viewer, Policy(new CallerRequirement(
                caller => caller is OperatorIdentity { Role: >= OperatorRole.Viewer },
                (_, _) => "only operator tokens may use FleetOperator")))
            .AddPolicy(Operator, Policy(new CallerRequirement(
                caller => caller is OperatorIdentity { Role: >= OperatorRole.Operator },
                (caller, method) => caller is OperatorIdentity op
                    ? "the " + TokenService.RoleName(op.Role) + " role may not " + Action(method)
                    : "only operator tokens may use FleetOperator")))
            .AddPolicy(Admin, Policy(new CallerRequirement(
                caller => caller is OperatorIdentity { Role: OperatorRole.Admin },
                (_, _) => "only operator tokens with the admin role may list silos")));
    }

    private static AuthorizationPolicy Policy(CallerRequirement requirement) =>
        new AuthorizationPolicyBuilder(TokenAuthentication.Scheme).RequireAuthenticatedUser().AddRequirements(requirement).Build();

    private static string Action(string? method) => method switch
    {
        "SendCommand" => "send commands",
        "CancelCommand" => "cancel commands",
        _ => "call " + method,
    };
}

/// <summary>A policy's rule on the authenticated <see cref="CallerIdentity"/>, with the message a refused caller gets.</summary>
/// <param name="Allows">Whether the caller may call.</param>
/// <param name="Denial">The PERMISSION_DENIED message, from the caller and the gRPC method's name.</param>
internal sealed record CallerRequirement(Func<CallerIdentity, bool> Allows, Func<CallerIdentity, string?, string> Denial) : IAuthorizationRequirement;

/// <summary>Decides <see cref="CallerRequirement"/>s on the caller JwtBearer stored for the request.</summary>
internal sealed class CallerRequirementHandler : AuthorizationHandler<CallerRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, CallerRequirement requirement)
    {
        // With endpoint routing the resource is the request's HttpContext.
        if (context.Resource is HttpContext http && http.GetCaller() is { } caller)
        {
            if (requirement.Allows(caller))
            {
                context.Succeed(requirement);
            }
            else
            {
                var method = http.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.Name;
                context.Fail(new AuthorizationFailureReason(this, requirement.Denial(caller, method)));
            }
        }

        return Task.CompletedTask;
    }
}
