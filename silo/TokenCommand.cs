using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using Vehicles.Api.Security;

namespace Vehicles.Silo;

/// <summary>
/// <c>silo token ...</c>: prints a bearer token signed with the silo's own key (same configuration, same data folder),
/// so a developer can call a local silo without an identity provider. Parsed by System.CommandLine:
/// <code>
/// token operator --fleet f1 [--fleet f2] [--role viewer|operator|admin] [--subject NAME] [--lifetime 8:00:00]
/// token vehicle --vin 1HGCM82633A004352 --fleet f1 [--lifetime 30.00:00:00]
/// </code>
/// </summary>
public static class TokenCommand
{
    /// <summary>The exit code of a usage error or a token that cannot be minted.</summary>
    public const int ExitUsage = 2;

    private const string Usage = """
        usage:
          token operator --fleet ID [--fleet ID ...] [--role viewer|operator|admin] [--subject NAME] [--lifetime d.hh:mm:ss]
          token vehicle --vin VIN --fleet ID [--lifetime d.hh:mm:ss]
        The token is signed with Tokens:SigningKey, or the key file in Storage:DataDirectory (created when missing).
        """;

    /// <summary>Mints the token the arguments describe and writes it to <paramref name="output"/>; returns the exit code.</summary>
    /// <param name="args">The arguments after <c>token</c>.</param>
    /// <param name="output">Receives the token, or the help.</param>
    /// <param name="error">Receives what is wrong.</param>
    /// <param name="configuration">
    /// Where the signing key comes from; by default the silo's own configuration sources (appsettings.json,
    /// appsettings.{Environment}.json, environment variables).
    /// </param>
    public static int Run(string[] args, TextWriter output, TextWriter error, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        int Mint(Func<TokenService, string> mint)
        {
            try
            {
                var tokens = new TokenService(
                    SigningKeyStore.LoadOptions(configuration ?? WebApplication.CreateBuilder().Configuration, out _, out _), TimeProvider.System);
                output.WriteLine(mint(tokens));
                return 0;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
            {
                error.WriteLine(ex.Message);
                return ExitUsage;
            }
        }

        var result = Create(Mint).Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Errors.Count > 0 && result.Action is not HelpAction)
        {
            foreach (var message in result.Errors.Select(e => e.Message).Distinct(StringComparer.Ordinal))
            {
                error.WriteLine(message);
            }

            error.WriteLine(Usage);
            return ExitUsage;
        }

        return result.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    private static Command Create(Func<Func<TokenService, string>, int> mint)
    {
        var fleet = new Option<string[]>("--fleet") { Description = "A fleet the token covers; repeatable for an operator.", HelpName = "ID", Arity = ArgumentArity.OneOrMore };
        var lifetime = new Option<string>("--lifetime") { Description = "How long the token is valid (d.hh:mm:ss; default: Tokens' configured lifetime).", HelpName = "d.hh:mm:ss" };
        var role = new Option<string>("--role") { Description = "viewer, operator (default) or admin.", HelpName = "viewer|operator|admin" };
        var subject = new Option<string>("--subject") { Description = "Who the token names (default: the user name).", HelpName = "NAME" };
        var vin = new Option<string>("--vin") { Description = "The vehicle's VIN.", HelpName = "VIN" };

        var operatorToken = new Command("operator", "A FleetOperator token.") { fleet, role, subject, lifetime };
        operatorToken.SetAction(parsed => mint(tokens => tokens.MintOperatorToken(
            parsed.GetValue(subject) ?? Environment.UserName,
            parsed.GetValue(fleet) ?? [],
            parsed.GetValue(role) is { } name ? ParseRole(name) : OperatorRole.Operator,
            Lifetime(parsed.GetValue(lifetime)))));

        var vehicleToken = new Command("vehicle", "A vehicle token, for one VIN in one fleet.") { vin, fleet, lifetime };
        vehicleToken.SetAction(parsed => mint(tokens =>
        {
            var fleets = parsed.GetValue(fleet) ?? [];
            return parsed.GetValue(vin) is { } id && fleets.Length == 1
                ? tokens.MintVehicleToken(id, fleets[0], Lifetime(parsed.GetValue(lifetime)))
                : throw new ArgumentException("a vehicle token needs --vin and exactly one --fleet");
        }));

        return new Command("token", "Prints a bearer token signed with the silo's key.") { operatorToken, vehicleToken, new HelpOption() };
    }

    private static TimeSpan? Lifetime(string? text) => text is null ? null : TimeSpan.Parse(text, CultureInfo.InvariantCulture);

    private static OperatorRole ParseRole(string role) => role switch
    {
        "viewer" => OperatorRole.Viewer,
        "operator" => OperatorRole.Operator,
        "admin" => OperatorRole.Admin,
        _ => throw new ArgumentException("--role must be viewer, operator or admin"),
    };
}
