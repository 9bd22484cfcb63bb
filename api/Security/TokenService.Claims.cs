using Microsoft.IdentityModel.JsonWebTokens;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Security;

// The claims of vehicle and operator tokens: what is minted, and how a validated token becomes an identity.
public sealed partial class TokenService
{
    internal static string RoleName(OperatorRole role) => role switch
    {
        OperatorRole.Viewer => "viewer",
        OperatorRole.Operator => "operator",
        OperatorRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown operator role."),
    };

    private static OperatorRole? ParseRole(string? name) => name switch
    {
        "viewer" => OperatorRole.Viewer,
        "operator" => OperatorRole.Operator,
        "admin" => OperatorRole.Admin,
        _ => null,
    };

    /// <summary>The identity a validated token carries, or why its claims do not make one.</summary>
    internal static AuthenticationResult ReadIdentity(JsonWebToken token)
    {
        var subject = token.Subject;
        var tokenId = token.Id;
        var expiresAt = new DateTimeOffset(token.ValidTo, TimeSpan.Zero);
        token.TryGetPayloadValue<string>(KindClaim, out var kind);
        switch (kind)
        {
            case VehicleKind:
                token.TryGetPayloadValue<string>(VinClaim, out var vin);
                if (FieldRules.Vin(vin, VinClaim) is not null || !string.Equals(vin, subject, StringComparison.Ordinal))
                {
                    return AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, "the vehicle token does not name a valid VIN");
                }

                if (!token.TryGetPayloadValue<string>(FleetClaim, out var fleet))
                {
                    fleet = "";
                }
                else if (FieldRules.FleetId(fleet, FleetClaim) is not null)
                {
                    return AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, "the vehicle token names an invalid fleet");
                }

                return AuthenticationResult.Success(new VehicleIdentity(vin!, fleet, tokenId, expiresAt));

            case OperatorKind:
                token.TryGetPayloadValue<string>(RoleClaim, out var roleName);
                var role = ParseRole(roleName);
                if (role is null)
                {
                    return AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, "the operator token has no valid role");
                }

                if (SubjectError(subject) is not null)
                {
                    return AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, "the operator token has no valid subject");
                }

                if (!token.TryGetPayloadValue<string[]>(FleetsClaim, out var fleets) || FleetsError(fleets, role.Value) is not null)
                {
                    return AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, "the operator token has no valid fleet list");
                }

                return AuthenticationResult.Success(new OperatorIdentity(subject, fleets, role.Value, tokenId, expiresAt));

            default:
                return AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, "the token is neither a vehicle nor an operator token");
        }
    }

    private static string? SubjectError(string? subject)
    {
        if (string.IsNullOrWhiteSpace(subject))
        {
            return "is required";
        }

        if (subject.Length > MaxSubjectLength)
        {
            return $"must be at most {MaxSubjectLength} characters";
        }

        return subject.AsSpan().IndexOfAnyExceptInRange(' ', '~') >= 0 ? "must be printable ASCII" : null;
    }

    private static string? FleetsError(string[] fleets, OperatorRole role)
    {
        if (fleets.Length == 0)
        {
            return "must name at least one fleet";
        }

        foreach (var fleet in fleets)
        {
            if (fleet == OperatorIdentity.AllFleetsWildcard)
            {
                if (role != OperatorRole.Admin)
                {
                    return "may contain the all-fleets wildcard only for admins";
                }

                continue;
            }

            if (FieldRules.FleetId(fleet, "fleet") is { } error)
            {
                return $"contain '{fleet}', which {error.Message}";
            }
        }

        return null;
    }
}
