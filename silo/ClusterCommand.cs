using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Silo;

/// <summary>
/// <c>silo cluster [--address host:port] [--all]</c>: the admin view. Asks a running silo (by default the one this
/// configuration describes, <c>Grpc:Address</c>) for the cluster's silos with a short-lived admin token signed with the
/// configured key, and prints one line per silo generation.
/// </summary>
public static class ClusterCommand
{
    /// <summary>Prints the cluster; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var configuration = WebApplication.CreateBuilder().Configuration;
        var (arguments, exitCode) = ClusterCommandLine.Parse(args, configuration["Grpc:Address"] ?? "127.0.0.1:50051", output, error);
        if (arguments is null)
        {
            return exitCode;
        }

        var (address, includeDead) = arguments;

        var tokens = new TokenService(SigningKeyStore.LoadOptions(configuration, out _, out _), TimeProvider.System);
        var token = tokens.MintOperatorToken("cluster-cli", [OperatorIdentity.AllFleetsWildcard], OperatorRole.Admin, TimeSpan.FromMinutes(5));
        using var channel = GrpcChannel.ForAddress("http://" + address);
        var client = new ClusterAdmin.ClusterAdminClient(channel);
        try
        {
            var response = await client.ListSilosAsync(
                new ListSilosRequest { IncludeDead = includeDead },
                new Metadata { { "authorization", "Bearer " + token } },
                DateTime.UtcNow.AddSeconds(10));
            output.WriteLine("ENDPOINT               GENERATION           STATUS         ACTIVATIONS  HEARTBEAT AGE");
            foreach (var silo in response.Silos)
            {
                var age = DateTimeOffset.UtcNow - silo.LastHeartbeat.ToDateTimeOffset();
                output.WriteLine(string.Format(
                    CultureInfo.InvariantCulture,
                    "{0,-22} {1,-20} {2,-14} {3,11} {4,13:0.0}s {5}",
                    silo.Endpoint,
                    silo.Generation,
                    silo.Status.ToString().ToLowerInvariant(),
                    silo.ActivationCount,
                    age.TotalSeconds,
                    silo.Local ? "(answered)" : ""));
            }

            return 0;
        }
        catch (RpcException ex)
        {
            error.WriteLine($"{address}: {ex.StatusCode}: {ex.Status.Detail}");
            return 1;
        }
    }
}
