using System.Text;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Vehicles.Api.Security;

namespace Vehicles.Api.Tests;

public sealed class TokenServiceTests
{
    private const string Vin = "1M8GDM9AXKP042788";

    private static readonly byte[] _keyBytes = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly string _key = Convert.ToBase64String(_keyBytes);
    private static readonly string _otherKey = Convert.ToBase64String([.. Enumerable.Range(101, 32).Select(i => (byte)i)]);

    private static readonly string[] _wildcardFleets = ["*"];
    private static readonly string[] _oneFleet = ["f"];
    private static readonly string[] _badFleets = ["Bad Fleet"];

    private readonly FakeTimeProvider _clock = new(TestTime.Start);

    private TokenService Service(string? key = null, string audience = "vehicles-api", string issuer = "vehicles", TimeProvider? clock = null, params string[] previousKeys)
    {
        var options = new TokenOptions { SigningKey = key ?? _key, Audience = audience, Issuer = issuer };
        foreach (var previous in previousKeys)
        {
            options.PreviousSigningKeys.Add(previous);
        }

        return new TokenService(options, clock ?? _clock);
    }

    // Signs arbitrary claims with the test key, to forge tokens the service would never mint.
    private string Forge(Dictionary<string, object> claims, string algorithm = SecurityAlgorithms.HmacSha256, byte[]? key = null)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "vehicles",
            Audience = "vehicles-api",
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddHours(1),
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? _keyBytes), algorithm),
        });
    }

    [Fact]
    public async Task VehicleToken_RoundTrips()
    {
        var service = Service();
        var token = service.MintVehicleToken(Vin, TimeSpan.FromDays(1));

        var result = await service.ValidateAsync("Bearer " + token);

        Assert.True(result.Succeeded, result.ToString());
        var vehicle = Assert.IsType<VehicleIdentity>(result.Identity);
        Assert.Equal(Vin, vehicle.Vin);
        Assert.Equal(Vin, vehicle.Subject);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromDays(1), vehicle.ExpiresAt);
        Assert.Equal(22, vehicle.TokenId.Length);
        Assert.Equal(AuthenticationFailure.None, result.Failure);
        Assert.Null(result.Reason);
    }

    [Fact]
    public async Task OperatorToken_RoundTrips()
    {
        var service = Service();
        var token = service.MintOperatorToken("alice@example.com", ["fleet-b", "fleet-a", "fleet-b"], OperatorRole.Operator);

        var result = await service.ValidateAsync(token);

        Assert.True(result.Succeeded, result.ToString());
        var op = Assert.IsType<OperatorIdentity>(result.Identity);
        Assert.Equal("alice@example.com", op.Subject);
        Assert.Equal(OperatorRole.Operator, op.Role);
        Assert.Equal(["fleet-a", "fleet-b"], op.FleetIds);
        Assert.False(op.AllFleets);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromHours(8), op.ExpiresAt);
    }

    [Fact]
    public async Task ValidatedTokens_KeepVehiclesAndOperatorsApart()
    {
        var service = Service();
        var vehicle = (await service.ValidateAsync(service.MintVehicleToken(Vin))).Identity!;
        var admin = (await service.ValidateAsync(service.MintOperatorToken(Vin, ["fleet-a"], OperatorRole.Admin))).Identity!;

        Assert.True(vehicle.CanActAsVehicle(Vin));
        Assert.False(vehicle.CanActAsVehicle("1HGCM82633A004352"));
        Assert.False(vehicle.CanRead("fleet-a"));
        Assert.False(vehicle.CanCommand("fleet-a"));
        Assert.IsType<OperatorIdentity>(admin);
        Assert.False(admin.CanActAsVehicle(Vin));
        Assert.True(admin.CanCommand("fleet-a"));
    }

    [Fact]
    public async Task Mint_UsesConfiguredDefaultLifetimes()
    {
        var options = new TokenOptions { SigningKey = _key, VehicleTokenLifetime = TimeSpan.FromDays(3), OperatorTokenLifetime = TimeSpan.FromMinutes(30) };
        var service = new TokenService(options, _clock);

        var vehicle = await service.ValidateAsync(service.MintVehicleToken(Vin));
        var op = await service.ValidateAsync(service.MintOperatorToken("bob", ["f"], OperatorRole.Viewer));

        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromDays(3), vehicle.Identity?.ExpiresAt);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromMinutes(30), op.Identity?.ExpiresAt);
    }

    [Fact]
    public async Task Validate_WhenExpiredBeyondSkew_FailsAsExpired()
    {
        var service = Service();
        var token = service.MintVehicleToken(Vin, TimeSpan.FromHours(1));

        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(59));
        var withinSkew = await service.ValidateAsync(token);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var expired = await service.ValidateAsync(token);

        Assert.True(withinSkew.Succeeded, withinSkew.ToString());
        Assert.False(expired.Succeeded);
        Assert.Equal(AuthenticationFailure.Expired, expired.Failure);
        Assert.Equal("the token has expired", expired.Reason);
    }

    [Fact]
    public async Task Validate_WhenCachedTokenExpires_FailsAsExpired()
    {
        var service = Service();
        var token = service.MintVehicleToken(Vin, TimeSpan.FromMinutes(10));
        var first = await service.ValidateAsync(token);
        var second = await service.ValidateAsync("Bearer " + token);

        _clock.Advance(TimeSpan.FromMinutes(11));
        var expired = await service.ValidateAsync(token);
        var expiredAgain = await service.ValidateAsync(token);

        Assert.True(first.Succeeded);
        Assert.Same(first, second);
        Assert.Equal(AuthenticationFailure.Expired, expired.Failure);
        Assert.Equal(AuthenticationFailure.Expired, expiredAgain.Failure);
    }

    [Fact]
    public async Task Validate_WhenCacheFull_StaysBoundedAndCorrect()
    {
        var options = new TokenOptions { SigningKey = _key, ValidationCacheSize = 2 };
        var service = new TokenService(options, _clock);
        var tokens = Enumerable.Range(0, 5).Select(i => service.MintOperatorToken("user" + i, ["fleet-a"], OperatorRole.Viewer)).ToList();

        var subjects = new List<string>();
        for (var round = 0; round < 2; round++)
        {
            foreach (var token in tokens)
            {
                subjects.Add((await service.ValidateAsync(token)).Identity!.Subject);
            }
        }

        Assert.Equal(["user0", "user1", "user2", "user3", "user4", "user0", "user1", "user2", "user3", "user4"], subjects);
    }

    [Fact]
    public async Task Validate_WithCacheDisabled_ValidatesEveryTime()
    {
        var options = new TokenOptions { SigningKey = _key, ValidationCacheSize = 0 };
        var service = new TokenService(options, _clock);
        var token = service.MintVehicleToken(Vin);

        var first = await service.ValidateAsync(token);
        var second = await service.ValidateAsync(token);

        Assert.True(first.Succeeded);
        Assert.True(second.Succeeded);
        Assert.NotSame(first, second);
    }

    [Fact]
    public async Task Validate_WhenNotYetValidBeyondSkew_FailsAsNotYetValid()
    {
        var token = Service().MintVehicleToken(Vin);
        var earlierClock = new FakeTimeProvider(_clock.GetUtcNow() - TimeSpan.FromMinutes(2));

        var result = await Service(clock: earlierClock).ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.NotYetValid, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenPayloadTampered_FailsAsBadSignature()
    {
        var service = Service();
        var parts = service.MintOperatorToken("eve", ["fleet-a"], OperatorRole.Viewer).Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"viewer\"", "\"admin\"", StringComparison.Ordinal);
        var tampered = parts[0] + "." + Base64UrlEncoder.Encode(payload) + "." + parts[2];

        var result = await service.ValidateAsync(tampered);

        Assert.Contains("\"admin\"", payload, StringComparison.Ordinal);
        Assert.Equal(AuthenticationFailure.BadSignature, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenSignatureTampered_FailsAsBadSignature()
    {
        var service = Service();
        var token = service.MintVehicleToken(Vin);
        var last = token[^2];
        var tampered = token[..^2] + (last == 'A' ? 'B' : 'A') + token[^1];

        var result = await service.ValidateAsync(tampered);

        Assert.Equal(AuthenticationFailure.BadSignature, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenSignedWithAnotherKey_FailsAsBadSignature()
    {
        var token = Service(_otherKey).MintVehicleToken(Vin);

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.BadSignature, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenKeyRotated_AcceptsPreviousKeyUntilRemoved()
    {
        var oldToken = Service(_key).MintVehicleToken(Vin);
        var rotated = Service(_otherKey, previousKeys: _key);
        var newToken = rotated.MintVehicleToken(Vin);

        Assert.True((await rotated.ValidateAsync(oldToken)).Succeeded);
        Assert.True((await rotated.ValidateAsync(newToken)).Succeeded);
        Assert.Equal(AuthenticationFailure.BadSignature, (await Service(_key).ValidateAsync(newToken)).Failure);
        Assert.Equal(AuthenticationFailure.BadSignature, (await Service(_otherKey).ValidateAsync(oldToken)).Failure);
    }

    [Fact]
    public async Task Validate_WhenAudienceDiffers_FailsAsWrongAudience()
    {
        var token = Service(audience: "other-api").MintVehicleToken(Vin);

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.WrongAudience, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenIssuerDiffers_FailsAsWrongIssuer()
    {
        var token = Service(issuer: "someone-else").MintVehicleToken(Vin);

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.WrongIssuer, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenAlgorithmIsNone_IsRefused()
    {
        var parts = Service().MintVehicleToken(Vin).Split('.');
        var header = Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}");

        var result = await Service().ValidateAsync(header + "." + parts[1] + ".");

        Assert.False(result.Succeeded);
        Assert.Equal(AuthenticationFailure.BadSignature, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenSignedWithOtherHmacAlgorithm_FailsAsBadSignature()
    {
        byte[] longKey = [.. _keyBytes, .. _keyBytes];
        var options = new TokenOptions { SigningKey = Convert.ToBase64String(longKey) };
        var service = new TokenService(options, _clock);
        var token = Forge(new() { ["kind"] = "vehicle", ["vin"] = Vin, ["sub"] = Vin }, SecurityAlgorithms.HmacSha512, longKey);

        var result = await service.ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.BadSignature, result.Failure);
    }

    [Theory]
    [InlineData(null, AuthenticationFailure.Missing)]
    [InlineData("", AuthenticationFailure.Missing)]
    [InlineData("   ", AuthenticationFailure.Missing)]
    [InlineData("Bearer ", AuthenticationFailure.Missing)]
    [InlineData("Basic dXNlcjpwYXNz", AuthenticationFailure.Malformed)]
    [InlineData("Bearer abc", AuthenticationFailure.Malformed)]
    [InlineData("Bearer a.b", AuthenticationFailure.Malformed)]
    [InlineData("Bearer a.b.c.d", AuthenticationFailure.Malformed)]
    [InlineData("Bearer !!!.???.***", AuthenticationFailure.Malformed)]
    [InlineData("Bearer eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", AuthenticationFailure.Malformed)]
    public async Task Validate_WhenMissingOrMalformed_SaysSo(string? bearer, AuthenticationFailure expected)
    {
        var result = await Service().ValidateAsync(bearer);

        Assert.False(result.Succeeded);
        Assert.Equal(expected, result.Failure);
        Assert.False(string.IsNullOrEmpty(result.Reason));
    }

    [Theory]
    [InlineData("Bearer {0}")]
    [InlineData("bearer {0}")]
    [InlineData("BEARER   {0}  ")]
    [InlineData("{0}")]
    public async Task Validate_AcceptsBearerSchemeInAnyCaseOrBareToken(string format)
    {
        var service = Service();
        var token = service.MintVehicleToken(Vin);

        var result = await service.ValidateAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, token));

        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task Validate_WhenKindMissing_FailsAsInvalidClaims()
    {
        var token = Forge(new() { ["sub"] = "x" });

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.InvalidClaims, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenVehicleSubjectDiffersFromVin_FailsAsInvalidClaims()
    {
        var token = Forge(new() { ["kind"] = "vehicle", ["vin"] = Vin, ["sub"] = "1HGCM82633A004352" });

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.InvalidClaims, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenVehicleVinMalformed_FailsAsInvalidClaims()
    {
        var token = Forge(new() { ["kind"] = "vehicle", ["vin"] = "NOT-A-VIN", ["sub"] = "NOT-A-VIN" });

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.InvalidClaims, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenViewerClaimsAllFleets_FailsAsInvalidClaims()
    {
        var token = Forge(new() { ["kind"] = "operator", ["sub"] = "mallory", ["role"] = "viewer", ["fleets"] = _wildcardFleets });

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.InvalidClaims, result.Failure);
    }

    [Theory]
    [InlineData("superuser")]
    [InlineData("")]
    public async Task Validate_WhenOperatorRoleUnknown_FailsAsInvalidClaims(string role)
    {
        var token = Forge(new() { ["kind"] = "operator", ["sub"] = "mallory", ["role"] = role, ["fleets"] = _oneFleet });

        var result = await Service().ValidateAsync(token);

        Assert.Equal(AuthenticationFailure.InvalidClaims, result.Failure);
    }

    [Fact]
    public async Task Validate_WhenOperatorFleetsMissingOrInvalid_FailsAsInvalidClaims()
    {
        var none = Forge(new() { ["kind"] = "operator", ["sub"] = "m", ["role"] = "admin" });
        var empty = Forge(new() { ["kind"] = "operator", ["sub"] = "m", ["role"] = "admin", ["fleets"] = Array.Empty<string>() });
        var bad = Forge(new() { ["kind"] = "operator", ["sub"] = "m", ["role"] = "admin", ["fleets"] = _badFleets });

        Assert.Equal(AuthenticationFailure.InvalidClaims, (await Service().ValidateAsync(none)).Failure);
        Assert.Equal(AuthenticationFailure.InvalidClaims, (await Service().ValidateAsync(empty)).Failure);
        Assert.Equal(AuthenticationFailure.InvalidClaims, (await Service().ValidateAsync(bad)).Failure);
    }

    [Fact]
    public async Task Validate_WhenForgedWithSameKeyAndValidClaims_IsAccepted()
    {
        // Control for the InvalidClaims tests above: Forge itself produces acceptable tokens.
        var token = Forge(new() { ["kind"] = "operator", ["sub"] = "m", ["role"] = "admin", ["fleets"] = _wildcardFleets });

        var result = await Service().ValidateAsync(token);

        Assert.True(result.Succeeded, result.ToString());
        Assert.True(Assert.IsType<OperatorIdentity>(result.Identity).AllFleets);
    }

    [Fact]
    public async Task MintOperatorToken_AllowsWildcardOnlyForAdmins()
    {
        var service = Service();

        var admin = await service.ValidateAsync(service.MintOperatorToken("root", [OperatorIdentity.AllFleetsWildcard], OperatorRole.Admin));

        var op = Assert.IsType<OperatorIdentity>(admin.Identity);
        Assert.True(op.AllFleets);
        Assert.Empty(op.FleetIds);
        Assert.True(op.CanCommand("any-fleet"));
        Assert.Throws<ArgumentException>(() => service.MintOperatorToken("bob", ["*"], OperatorRole.Operator));
        Assert.Throws<ArgumentException>(() => service.MintOperatorToken("bob", ["*"], OperatorRole.Viewer));
    }

    [Fact]
    public void Mint_WhenArgumentsInvalid_Throws()
    {
        var service = Service();

        Assert.Throws<ArgumentException>(() => service.MintVehicleToken("1M8GDM9AXKP04278I"));
        Assert.Throws<ArgumentOutOfRangeException>(() => service.MintVehicleToken(Vin, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => service.MintVehicleToken(Vin, TimeSpan.FromDays(401)));
        Assert.Throws<ArgumentException>(() => service.MintOperatorToken("", ["f"], OperatorRole.Viewer));
        Assert.Throws<ArgumentException>(() => service.MintOperatorToken(new string('s', 129), ["f"], OperatorRole.Viewer));
        Assert.Throws<ArgumentException>(() => service.MintOperatorToken("bob", [], OperatorRole.Viewer));
        Assert.Throws<ArgumentException>(() => service.MintOperatorToken("bob", ["Fleet A"], OperatorRole.Viewer));
        Assert.Throws<ArgumentOutOfRangeException>(() => service.MintOperatorToken("bob", ["f"], (OperatorRole)7));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==")]
    public void Constructor_WhenKeyMissingMalformedOrShort_Throws(string key)
    {
        var ex = Assert.Throws<ArgumentException>(() => new TokenService(new TokenOptions { SigningKey = key }, _clock));

        Assert.Equal("SigningKey", ex.ParamName);
    }

    [Fact]
    public void Constructor_WhenPreviousKeyShort_Throws()
    {
        var options = new TokenOptions { SigningKey = _key };
        options.PreviousSigningKeys.Add(Convert.ToBase64String(new byte[16]));

        var ex = Assert.Throws<ArgumentException>(() => new TokenService(options, _clock));

        Assert.Equal("PreviousSigningKeys[0]", ex.ParamName);
    }

    [Fact]
    public void Constructor_WhenDefaultLifetimeExceedsMax_Throws()
    {
        var options = new TokenOptions { SigningKey = _key, VehicleTokenLifetime = TimeSpan.FromDays(500) };

        var ex = Assert.Throws<ArgumentException>(() => new TokenService(options, _clock));

        Assert.Equal("MaxTokenLifetime", ex.ParamName);
    }
}
