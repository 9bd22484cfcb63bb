using System.CommandLine;
using System.CommandLine.Help;

namespace Vehicles.Silo;

/// <summary>What <c>silo cluster</c> was asked: which silo to ask, and whether to list dead silos too.</summary>
/// <param name="Address">The silo's gRPC address, host:port.</param>
/// <param name="IncludeDead">List the silos the cluster declared dead as well.</param>
internal sealed record ClusterArguments(string Address, bool IncludeDead);

/// <summary>The command line of <c>silo cluster</c>, parsed by System.CommandLine.</summary>
internal static class ClusterCommandLine
{
    /// <summary>The exit code of a usage error.</summary>
    public const int ExitUsage = 2;

    private const string Usage = "usage: cluster [--address host:port] [--all]";

    /// <summary>
    /// Parses the arguments after <c>cluster</c>. Returns the arguments to run with, or <see langword="null"/> and the
    /// exit code when there is nothing to run: the help was shown (0) or the arguments are wrong (2, reason on
    /// <paramref name="error"/>).
    /// </summary>
    public static (ClusterArguments? Arguments, int ExitCode) Parse(string[] args, string defaultAddress, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var address = new Option<string>("--address")
        {
            Description = "The silo to ask (by default Grpc:Address of this configuration).",
            HelpName = "host:port",
            DefaultValueFactory = _ => defaultAddress,
        };
        var all = new Option<bool>("--all") { Description = "List the silos the cluster declared dead as well." };
        var command = new Command("cluster", "Lists the cluster's silos, as a running silo sees them.") { address, all, new HelpOption() };

        var result = command.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Action is HelpAction)
        {
            return (null, result.Invoke(new InvocationConfiguration { Output = output, Error = error }));
        }

        if (result.Errors.Count > 0)
        {
            error.WriteLine(result.Errors[0].Message);
            error.WriteLine(Usage);
            return (null, ExitUsage);
        }

        return (new ClusterArguments(result.GetValue(address)!, result.GetValue(all)), 0);
    }
}
