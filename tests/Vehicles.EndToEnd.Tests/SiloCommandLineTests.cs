using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Vehicles.Api.Security;
using Vehicles.Silo;

namespace Vehicles.EndToEnd.Tests;

/// <summary>The silo's command lines (<c>token</c>, <c>cluster</c>) as System.CommandLine parses them: each option reaches what it sets.</summary>
public sealed class SiloCommandLineTests : IDisposable
{
    private readonly IConfiguration _configuration = new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["Tokens:SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) })
        .Build();

    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        _output.Dispose();
        _error.Dispose();
    }

    [Fact]
    public async Task Token_Operator_PutsEachOptionInTheToken()
    {
        var exit = TokenCommand.Run(
            ["operator", "--fleet", "f1", "--fleet", "f2", "--role", "viewer", "--subject", "alice", "--lifetime", "02:00:00"], _output, _error, _configuration);

        Assert.Equal(0, exit);
        Assert.Equal("", _error.ToString());
        var identity = Assert.IsType<OperatorIdentity>(await ValidateAsync(_output.ToString()));
        Assert.Equal("alice", identity.Subject);
        Assert.Equal(["f1", "f2"], identity.FleetIds);
        Assert.Equal(OperatorRole.Viewer, identity.Role);
        Assert.InRange(identity.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromHours(1.9), TimeSpan.FromHours(2));
    }

    [Fact]
    public async Task Token_OperatorWithoutRoleOrSubject_IsAnOperatorNamedAfterTheUser()
    {
        var exit = TokenCommand.Run(["operator", "--fleet", "f1", "--lifetime", "1.00:00:00"], _output, _error, _configuration);

        Assert.Equal(0, exit);
        var identity = Assert.IsType<OperatorIdentity>(await ValidateAsync(_output.ToString()));
        Assert.Equal(Environment.UserName, identity.Subject);
        Assert.Equal(OperatorRole.Operator, identity.Role);
        Assert.InRange(identity.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24));
    }

    [Theory]
    [InlineData("admin", OperatorRole.Admin)]
    [InlineData("operator", OperatorRole.Operator)]
    [InlineData("viewer", OperatorRole.Viewer)]
    public async Task Token_OperatorRole_IsTheOneAskedFor(string role, OperatorRole expected)
    {
        TokenCommand.Run(["operator", "--role", role, "--fleet", "f1"], _output, _error, _configuration);

        Assert.Equal(expected, Assert.IsType<OperatorIdentity>(await ValidateAsync(_output.ToString())).Role);
    }

    [Fact]
    public async Task Token_Vehicle_IsForTheVinInTheFleet()
    {
        var exit = TokenCommand.Run(["vehicle", "--vin", "1HGCM82633A004352", "--fleet", "f7", "--lifetime", "00:30:00"], _output, _error, _configuration);

        Assert.Equal(0, exit);
        var identity = Assert.IsType<VehicleIdentity>(await ValidateAsync(_output.ToString()));
        Assert.Equal("1HGCM82633A004352", identity.Vin);
        Assert.Equal("f7", identity.FleetId);
        Assert.InRange(identity.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
    }

    [Theory]
    [InlineData("", "Required command was not provided.")]
    [InlineData("lorry", "Unrecognized command or argument 'lorry'.")]
    [InlineData("operator --bogus x", "Unrecognized command or argument '--bogus'.")]
    [InlineData("operator --fleet", "Required argument missing for option: '--fleet'.")]
    [InlineData("operator --fleet f1 --subject a --subject b", "Option '--subject' expects a single argument but 2 were provided.")]
    [InlineData("vehicle --vin V --fleet f1 --role admin", "Unrecognized command or argument '--role'.")]
    [InlineData("vehicle --fleet f1", "a vehicle token needs --vin and exactly one --fleet")]
    [InlineData("vehicle --vin V --fleet f1 --fleet f2", "a vehicle token needs --vin and exactly one --fleet")]
    [InlineData("operator --fleet f1 --role king", "--role must be viewer, operator or admin")]
    [InlineData("operator --fleet f1 --lifetime soon", "String 'soon' was not recognized as a valid TimeSpan.")]
    public void Token_BadUsage_ExitsTwoSayingWhy(string args, string message)
    {
        var exit = TokenCommand.Run(args.Split(' ', StringSplitOptions.RemoveEmptyEntries), _output, _error, _configuration);

        Assert.Equal(TokenCommand.ExitUsage, exit);
        Assert.Contains(message, _error.ToString(), StringComparison.Ordinal);
        Assert.Equal("", _output.ToString());
    }

    [Fact]
    public void Token_Help_ListsTheOptionsAndExitsZero()
    {
        var exit = TokenCommand.Run(["operator", "--help"], _output, _error, _configuration);

        Assert.Equal(0, exit);
        foreach (var option in new[] { "--fleet <ID>", "--role <viewer|operator|admin>", "--subject <NAME>", "--lifetime <d.hh:mm:ss>" })
        {
            Assert.Contains(option, _output.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Cluster_WithoutOptions_AsksTheConfiguredSiloForLiveSilos()
    {
        var (arguments, _) = ClusterCommandLine.Parse([], "127.0.0.1:50051", _output, _error);

        Assert.Equal(new ClusterArguments("127.0.0.1:50051", IncludeDead: false), arguments);
    }

    [Fact]
    public void Cluster_AddressAndAll_AreBothTaken()
    {
        var (arguments, _) = ClusterCommandLine.Parse(["--all", "--address", "127.0.0.1:50061"], "127.0.0.1:50051", _output, _error);

        Assert.Equal(new ClusterArguments("127.0.0.1:50061", IncludeDead: true), arguments);
    }

    [Theory]
    [InlineData("--bogus", "Unrecognized command or argument '--bogus'.")]
    [InlineData("--address", "Required argument missing for option: '--address'.")]
    public void Cluster_BadUsage_ExitsTwoWithTheUsage(string args, string message)
    {
        var (arguments, exit) = ClusterCommandLine.Parse(args.Split(' '), "127.0.0.1:50051", _output, _error);

        Assert.Null(arguments);
        Assert.Equal(ClusterCommandLine.ExitUsage, exit);
        Assert.Equal($"{message}\nusage: cluster [--address host:port] [--all]\n", _error.ToString());
    }

    [Fact]
    public void Cluster_Help_ShowsTheOptionsAndRunsNothing()
    {
        var (arguments, exit) = ClusterCommandLine.Parse(["--help"], "127.0.0.1:50051", _output, _error);

        Assert.Null(arguments);
        Assert.Equal(0, exit);
        Assert.Contains("--address <host:port>", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--all", _output.ToString(), StringComparison.Ordinal);
    }

    private async Task<CallerIdentity?> ValidateAsync(string printed)
    {
        var tokens = new TokenService(SigningKeyStore.LoadOptions(_configuration, out _, out _), TimeProvider.System);
        var result = await tokens.ValidateTokenAsync(printed.Trim());
        Assert.True(result.Succeeded, result.Reason);
        return result.Identity;
    }
}
