using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Security;

/// <summary>
/// Mints the API's bearer tokens, JWTs signed with HMAC-SHA256, and describes how to validate them
/// (<see cref="ValidationParameters"/>, used by JwtBearer: see <see cref="TokenAuthentication"/>). A vehicle token
/// names one VIN; an operator token names a subject, a <see cref="OperatorRole"/> and the fleets it applies to.
/// Thread-safe; create one per process.
/// </summary>
public sealed partial class TokenService
{
    /// <summary>Claim telling a vehicle token from an operator token.</summary>
    public const string KindClaim = "kind";

    /// <summary>Claim holding a vehicle's VIN.</summary>
    public const string VinClaim = "vin";

    /// <summary>Claim holding a vehicle's fleet id (optional).</summary>
    public const string FleetClaim = "fleet";

    /// <summary>Claim holding an operator's role (viewer, operator, admin).</summary>
    public const string RoleClaim = "role";

    /// <summary>Claim holding an operator's fleet ids (a JSON array; "*" for every fleet).</summary>
    public const string FleetsClaim = "fleets";

    /// <summary>Longest operator subject.</summary>
    public const int MaxSubjectLength = 128;

    private const string VehicleKind = "vehicle";
    private const string OperatorKind = "operator";

    private readonly TokenOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };
    private readonly SigningCredentials _signingCredentials;
    private readonly TokenValidationParameters _validationParameters;

    /// <summary>Creates the service, checking the options at once so a bad key fails at start-up.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range.</exception>
    public TokenService(TokenOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Require(!string.IsNullOrWhiteSpace(options.Issuer), nameof(options.Issuer), "is required");
        Require(!string.IsNullOrWhiteSpace(options.Audience), nameof(options.Audience), "is required");
        Require(options.VehicleTokenLifetime > TimeSpan.Zero, nameof(options.VehicleTokenLifetime), "must be positive");
        Require(options.OperatorTokenLifetime > TimeSpan.Zero, nameof(options.OperatorTokenLifetime), "must be positive");
        Require(options.MaxTokenLifetime >= options.VehicleTokenLifetime, nameof(options.MaxTokenLifetime), "must be at least VehicleTokenLifetime");
        Require(options.MaxTokenLifetime >= options.OperatorTokenLifetime, nameof(options.MaxTokenLifetime), "must be at least OperatorTokenLifetime");
        Require(options.ClockSkew >= TimeSpan.Zero, nameof(options.ClockSkew), "must not be negative");

        _options = options;
        _timeProvider = timeProvider;
        var signingKey = ReadKey(options.SigningKey, nameof(options.SigningKey));
        _signingCredentials = new SigningCredentials(signingKey, SecurityAlgorithms.HmacSha256);

        var keys = new List<SecurityKey> { signingKey };
        for (var i = 0; i < options.PreviousSigningKeys.Count; i++)
        {
            keys.Add(ReadKey(options.PreviousSigningKeys[i], $"{nameof(options.PreviousSigningKeys)}[{i}]"));
        }

        _validationParameters = new TokenValidationParameters
        {
            ValidIssuer = options.Issuer,
            ValidAudience = options.Audience,
            IssuerSigningKeys = keys,
            // Pinning the algorithm refuses "none" and algorithm-confusion tokens outright.
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = true,
            ValidateAudience = true,
            // The library would read the system clock: exp and nbf are checked on the injected TimeProvider instead.
            ValidateLifetime = true,
            RequireExpirationTime = true,
            LifetimeValidator = CheckLifetime,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
        };
    }

    /// <summary>Mints a token for vehicle <paramref name="vin"/>, valid for <paramref name="lifetime"/> (or the configured default).</summary>
    /// <exception cref="ArgumentException">The VIN is invalid or the lifetime out of range.</exception>
    public string MintVehicleToken(string vin, TimeSpan? lifetime = null)
    {
        if (FieldRules.Vin(vin, nameof(vin)) is { } error)
        {
            throw new ArgumentException("VIN " + error.Message + ".", nameof(vin));
        }

        return Mint(vin, lifetime ?? _options.VehicleTokenLifetime, new Dictionary<string, object>
        {
            [KindClaim] = VehicleKind,
            [VinClaim] = vin,
        });
    }

    /// <summary>
    /// Mints a token for vehicle <paramref name="vin"/> of fleet <paramref name="fleetId"/>, valid for
    /// <paramref name="lifetime"/> (or the configured default). The fleet is where the vehicle's state is listed and who
    /// may read it.
    /// </summary>
    /// <exception cref="ArgumentException">The VIN or fleet id is invalid, or the lifetime out of range.</exception>
    public string MintVehicleToken(string vin, string fleetId, TimeSpan? lifetime = null)
    {
        if (FieldRules.Vin(vin, nameof(vin)) is { } error)
        {
            throw new ArgumentException("VIN " + error.Message + ".", nameof(vin));
        }

        if (FieldRules.FleetId(fleetId, nameof(fleetId)) is { } fleetError)
        {
            throw new ArgumentException("Fleet id " + fleetError.Message + ".", nameof(fleetId));
        }

        return Mint(vin, lifetime ?? _options.VehicleTokenLifetime, new Dictionary<string, object>
        {
            [KindClaim] = VehicleKind,
            [VinClaim] = vin,
            [FleetClaim] = fleetId,
        });
    }

    /// <summary>
    /// Mints a token for operator <paramref name="subject"/> with <paramref name="role"/> in
    /// <paramref name="fleetIds"/>, valid for <paramref name="lifetime"/> (or the configured default). Only an admin
    /// may be given <see cref="OperatorIdentity.AllFleetsWildcard"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An argument is invalid.</exception>
    public string MintOperatorToken(string subject, IEnumerable<string> fleetIds, OperatorRole role, TimeSpan? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(fleetIds);
        if (SubjectError(subject) is { } subjectError)
        {
            throw new ArgumentException("Subject " + subjectError + ".", nameof(subject));
        }

        if (!Enum.IsDefined(role))
        {
            throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown operator role.");
        }

        string[] fleets = [.. fleetIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        if (FleetsError(fleets, role) is { } fleetsError)
        {
            throw new ArgumentException("Fleet ids " + fleetsError + ".", nameof(fleetIds));
        }

        return Mint(subject, lifetime ?? _options.OperatorTokenLifetime, new Dictionary<string, object>
        {
            [KindClaim] = OperatorKind,
            [RoleClaim] = RoleName(role),
            [FleetsClaim] = fleets,
        });
    }

    /// <summary>
    /// What JwtBearer validates tokens with: issuer, audience, HS256 signature by the current or a previous key, and
    /// exp/nbf on the injected clock with <see cref="TokenOptions.ClockSkew"/>.
    /// </summary>
    public TokenValidationParameters ValidationParameters => _validationParameters;

    /// <summary>The clock token lifetimes are minted and checked on.</summary>
    internal TimeProvider Clock => _timeProvider;

    private string Mint(string subject, TimeSpan lifetime, Dictionary<string, object> claims)
    {
        if (lifetime <= TimeSpan.Zero || lifetime > _options.MaxTokenLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, $"Token lifetime must be positive and at most {_options.MaxTokenLifetime}.");
        }

        var now = _timeProvider.GetUtcNow().UtcDateTime;
        claims[JwtRegisteredClaimNames.Sub] = subject;
        claims[JwtRegisteredClaimNames.Jti] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = _signingCredentials,
        });
    }

    // TokenValidationParameters.LifetimeValidator: the failure is thrown as the exception the library would throw, so
    // the caller learns "expired" apart from the other failures.
    private bool CheckLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _timeProvider.GetUtcNow().UtcDateTime;
        if (expires is not { } exp)
        {
            throw new SecurityTokenNoExpirationException("the token has no expiry");
        }

        if (now - _options.ClockSkew >= exp)
        {
            throw new SecurityTokenExpiredException("the token has expired") { Expires = exp };
        }

        if (notBefore is { } nbf && now + _options.ClockSkew < nbf)
        {
            throw new SecurityTokenNotYetValidException("the token is not valid yet") { NotBefore = nbf };
        }

        return true;
    }

    /// <summary>The failure a validation exception stands for, with a reason for the log (never sent to the caller).</summary>
    internal static AuthenticationResult Failure(Exception? exception) => exception switch
    {
        null => AuthenticationResult.Fail(AuthenticationFailure.Missing, "no bearer token"),
        SecurityTokenExpiredException => AuthenticationResult.Fail(AuthenticationFailure.Expired, "the token has expired"),
        SecurityTokenNotYetValidException => AuthenticationResult.Fail(AuthenticationFailure.NotYetValid, "the token is not valid yet"),
        SecurityTokenNoExpirationException => AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, "the token has no expiry"),
        InvalidTokenClaimsException e => AuthenticationResult.Fail(AuthenticationFailure.InvalidClaims, e.Message),
        SecurityTokenInvalidAudienceException => AuthenticationResult.Fail(AuthenticationFailure.WrongAudience, "the token is for another audience"),
        SecurityTokenInvalidIssuerException => AuthenticationResult.Fail(AuthenticationFailure.WrongIssuer, "the token is from another issuer"),
        SecurityTokenInvalidAlgorithmException => AuthenticationResult.Fail(AuthenticationFailure.BadSignature, "the token is not signed with HS256"),
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException =>
            AuthenticationResult.Fail(AuthenticationFailure.BadSignature, "the token signature is not valid"),
        _ => AuthenticationResult.Fail(AuthenticationFailure.Malformed, "the token cannot be read"),
    };

    private static SymmetricSecurityKey ReadKey(string? base64, string option)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64 ?? "");
        }
        catch (FormatException)
        {
            throw new ArgumentException($"Token option {option} must be base64.", option);
        }

        Require(bytes.Length >= TokenOptions.MinKeyBytes, option, $"must hold at least {TokenOptions.MinKeyBytes} bytes (256 bits), got {bytes.Length}");

        // The key id lets validation pick the right key during a rotation instead of trying each one.
        var keyId = Base64UrlEncoder.Encode(SHA256.HashData(bytes).AsSpan(0, 8).ToArray());
        return new SymmetricSecurityKey(bytes) { KeyId = keyId };
    }

    private static void Require(bool condition, string option, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Token option {option} {message}.", option);
        }
    }
}
