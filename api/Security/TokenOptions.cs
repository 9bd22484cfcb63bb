namespace Vehicles.Api.Security;

/// <summary>
/// Settings of <see cref="TokenService"/>, bound from configuration (section <see cref="SectionName"/>). Keys
/// are secrets: supply them through environment variables or a secret store, not appsettings.json.
/// </summary>
public sealed class TokenOptions
{
    /// <summary>Configuration section the host binds these options from.</summary>
    public const string SectionName = "Tokens";

    /// <summary>Fewest key bytes accepted: HMAC-SHA256 is only as strong as a 256-bit key.</summary>
    public const int MinKeyBytes = 32;

    /// <summary>The iss claim minted and required. Default "vehicles".</summary>
    public string Issuer { get; set; } = "vehicles";

    /// <summary>The aud claim minted and required. Default "vehicles-api".</summary>
    public string Audience { get; set; } = "vehicles-api";

    /// <summary>The HMAC-SHA256 key, base64, at least 32 bytes. Mints and validates. Required.</summary>
    public string SigningKey { get; set; } = "";

    /// <summary>
    /// Keys that still validate but no longer mint (base64): put the old key here when rotating, and remove it
    /// once tokens signed with it have expired.
    /// </summary>
    public IList<string> PreviousSigningKeys { get; } = [];

    /// <summary>Lifetime of a vehicle token when the caller names none. Default 30 days.</summary>
    public TimeSpan VehicleTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Lifetime of an operator token when the caller names none. Default 8 hours.</summary>
    public TimeSpan OperatorTokenLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Longest lifetime that may be minted at all. Default 400 days.</summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromDays(400);

    /// <summary>Clock difference tolerated on exp and nbf. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);
}
