using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Vehicles.Api.Security;

namespace Vehicles.Testing;

/// <summary>
/// Validates an authorization header the way the silo does: through ASP.NET Core's JwtBearer handler configured by
/// <see cref="TokenAuthentication.AddVehicleTokenAuthentication"/> for the given service, on that service's clock.
/// </summary>
internal static class JwtBearerValidation
{
    /// <summary>Validates <paramref name="token"/> sent as <c>authorization: Bearer &lt;token&gt;</c>.</summary>
    public static Task<AuthenticationResult> ValidateTokenAsync(this TokenService tokens, string token) => tokens.ValidateAsync("Bearer " + token);

    /// <summary>Validates the authorization header value <paramref name="authorization"/> (none when null).</summary>
    public static async Task<AuthenticationResult> ValidateAsync(this TokenService tokens, string? authorization)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(tokens).AddSingleton(tokens.Clock);
        services.AddVehicleTokenAuthentication();
        await using var provider = services.BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = provider };
        if (authorization is not null)
        {
            http.Request.Headers.Authorization = authorization;
        }

        var result = await http.AuthenticateAsync(TokenAuthentication.Scheme);
        return result.Succeeded && http.GetCaller() is { } caller ? AuthenticationResult.Success(caller) : TokenService.Failure(result.Failure);
    }
}
