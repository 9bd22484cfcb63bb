using System.Diagnostics.CodeAnalysis;

namespace Vehicles.Api.Security;

/// <summary>Why a bearer token was not accepted; every value maps to gRPC UNAUTHENTICATED.</summary>
public enum AuthenticationFailure
{
    /// <summary>The token was accepted.</summary>
    None = 0,

    /// <summary>No authorization value, or an empty one.</summary>
    Missing,

    /// <summary>Not a "Bearer" value, not a JWT, or a JWT that cannot be read.</summary>
    Malformed,

    /// <summary>The signature does not match (tampered, signed with another key, or an algorithm other than HS256).</summary>
    BadSignature,

    /// <summary>Past its expiry, beyond the allowed clock skew.</summary>
    Expired,

    /// <summary>Before its not-before time, beyond the allowed clock skew.</summary>
    NotYetValid,

    /// <summary>Issued by another issuer.</summary>
    WrongIssuer,

    /// <summary>Meant for another audience.</summary>
    WrongAudience,

    /// <summary>Signed correctly but its claims do not describe a vehicle or an operator.</summary>
    InvalidClaims,
}

/// <summary>What a token amounts to: an identity, or a failure and its reason (<see cref="TokenAuthentication"/>).</summary>
public sealed class AuthenticationResult
{
    private AuthenticationResult(CallerIdentity? identity, AuthenticationFailure failure, string? reason)
    {
        Identity = identity;
        Failure = failure;
        Reason = reason;
    }

    /// <summary>Whether the token was accepted.</summary>
    [MemberNotNullWhen(true, nameof(Identity))]
    [MemberNotNullWhen(false, nameof(Reason))]
    public bool Succeeded => Identity is not null;

    /// <summary>The caller, when the token was accepted.</summary>
    public CallerIdentity? Identity { get; }

    /// <summary>Why the token was not accepted; <see cref="AuthenticationFailure.None"/> on success.</summary>
    public AuthenticationFailure Failure { get; }

    /// <summary>
    /// A short explanation safe to return to the caller (it never echoes the token or a key); null on success.
    /// </summary>
    public string? Reason { get; }

    /// <summary>An accepted token.</summary>
    public static AuthenticationResult Success(CallerIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new AuthenticationResult(identity, AuthenticationFailure.None, null);
    }

    /// <summary>A refused token.</summary>
    public static AuthenticationResult Fail(AuthenticationFailure failure, string reason)
    {
        if (failure == AuthenticationFailure.None)
        {
            throw new ArgumentOutOfRangeException(nameof(failure), failure, "A failure needs a reason other than None.");
        }

        return new AuthenticationResult(null, failure, reason);
    }

    /// <inheritdoc/>
    public override string ToString() => Succeeded ? "authenticated as " + Identity : Failure + ": " + Reason;
}
