using System.Globalization;
using Vehicles.Api.Security;

namespace Vehicles.Silo;

/// <summary>
/// <c>silo token ...</c>: prints a bearer token signed with the silo's own key (same configuration, same data folder),
/// so a developer can call a local silo without an identity provider.
/// <code>
/// token operator --fleet f1 [--fleet f2] [--role viewer|operator|admin] [--subject NAME] [--lifetime 8:00:00]
/// token vehicle --vin 1HGCM82633A004352 --fleet f1 [--lifetime 30.00:00:00]
/// </code>
/// </summary>
public static class TokenCommand
{
    private const string Usage = """
        usage:
          token operator --fleet ID [--fleet ID ...] [--role viewer|operator|admin] [--subject NAME] [--lifetime d.hh:mm:ss]
          token vehicle --vin VIN --fleet ID [--lifetime d.hh:mm:ss]
        The token is signed with Tokens:SigningKey, or the key file in Storage:DataDirectory (created when missing).
        """;

    /// <summary>Mints the token the arguments describe and writes it to <paramref name="output"/>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (args.Length == 0 || args[0] is not ("operator" or "vehicle"))
        {
            error.WriteLine(Usage);
            return 2;
        }

        if (!TryParseOptions(args.AsSpan(1), out var options, out var problem))
        {
            error.WriteLine(problem);
            error.WriteLine(Usage);
            return 2;
        }

        // The same configuration sources as the silo (appsettings.json, appsettings.{Environment}.json, environment variables).
        var configuration = WebApplication.CreateBuilder().Configuration;
        try
        {
            var tokens = new TokenService(SigningKeyStore.LoadOptions(configuration, out _, out _), TimeProvider.System);
            var lifetime = options.TryGetValue("lifetime", out var lifetimes) ? TimeSpan.Parse(lifetimes[0], CultureInfo.InvariantCulture) : (TimeSpan?)null;
            var fleets = options.GetValueOrDefault("fleet") ?? [];
            string token;
            if (args[0] == "vehicle")
            {
                if (!options.TryGetValue("vin", out var vins) || fleets.Count != 1)
                {
                    throw new ArgumentException("a vehicle token needs --vin and exactly one --fleet");
                }

                token = tokens.MintVehicleToken(vins[0], fleets[0], lifetime);
            }
            else
            {
                var role = options.TryGetValue("role", out var roles) ? ParseRole(roles[0]) : OperatorRole.Operator;
                var subject = options.TryGetValue("subject", out var subjects) ? subjects[0] : Environment.UserName;
                token = tokens.MintOperatorToken(subject, fleets, role, lifetime);
            }

            output.WriteLine(token);
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            error.WriteLine(ex.Message);
            return 2;
        }
    }

    private static OperatorRole ParseRole(string role) => role switch
    {
        "viewer" => OperatorRole.Viewer,
        "operator" => OperatorRole.Operator,
        "admin" => OperatorRole.Admin,
        _ => throw new ArgumentException("--role must be viewer, operator or admin"),
    };

    private static bool TryParseOptions(ReadOnlySpan<string> args, out Dictionary<string, List<string>> options, out string problem)
    {
        options = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        problem = "";
        for (var i = 0; i < args.Length; i += 2)
        {
            var name = args[i];
            if (name is not ("--fleet" or "--role" or "--subject" or "--lifetime" or "--vin"))
            {
                problem = "unknown option '" + name + "'";
                return false;
            }

            if (i + 1 >= args.Length)
            {
                problem = "option '" + name + "' needs a value";
                return false;
            }

            var key = name[2..];
            if (!options.TryGetValue(key, out var values))
            {
                values = [];
                options[key] = values;
            }

            values.Add(args[i + 1]);
        }

        return true;
    }
}
