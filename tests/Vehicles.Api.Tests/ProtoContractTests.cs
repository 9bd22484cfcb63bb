using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Tests;

/// <summary>
/// Text checks of protos/vehicles/v1: generated C# carries no SourceCodeInfo, so comments are checked in the
/// .proto files themselves.
/// </summary>
public sealed partial class ProtoContractTests
{
    private static readonly string _protoDirectory = FindProtoDirectory();

    public static TheoryData<string> ProtoFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(_protoDirectory, "*.proto").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void ProtoDirectory_HoldsTheFiveApiFiles()
    {
        var files = Directory.GetFiles(_protoDirectory, "*.proto").Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(["cluster_admin.proto", "commands.proto", "fleet_operator.proto", "signals.proto", "vehicle_link.proto"], files);
    }

    [Theory]
    [MemberData(nameof(ProtoFiles))]
    public void EveryDeclaration_HasACommentAbove(string file)
    {
        var lines = File.ReadAllLines(Path.Combine(_protoDirectory, file));
        var undocumented = new List<string>();

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (!IsDeclaration(line))
            {
                continue;
            }

            var previous = i > 0 ? lines[i - 1].Trim() : "";
            if (!previous.StartsWith("//", StringComparison.Ordinal))
            {
                undocumented.Add($"{file}:{i + 1}: {line}");
            }
        }

        Assert.Empty(undocumented);
    }

    [Theory]
    [MemberData(nameof(ProtoFiles))]
    public void EveryFile_DeclaresPackageAndCSharpNamespace(string file)
    {
        var text = File.ReadAllText(Path.Combine(_protoDirectory, file));

        Assert.Contains("syntax = \"proto3\";", text, StringComparison.Ordinal);
        Assert.Contains("\npackage vehicles.v1;\n", text, StringComparison.Ordinal);
        Assert.Contains("\noption csharp_namespace = \"Vehicles.Api.V1\";\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryField_IsSnakeCase()
    {
        var files = new[]
        {
            SignalsReflection.Descriptor, CommandsReflection.Descriptor, VehicleLinkReflection.Descriptor, FleetOperatorReflection.Descriptor,
        };
        var fields = files.SelectMany(f => f.MessageTypes).SelectMany(AllMessages).SelectMany(m => m.Fields.InDeclarationOrder()).ToList();

        Assert.True(fields.Count > 100);
        Assert.All(fields, f => Assert.Matches(SnakeCase(), f.Name));
    }

    [Fact]
    public void Services_HaveTheBriefedMethods()
    {
        var link = VehicleLinkReflection.Descriptor.FindTypeByName<ServiceDescriptor>("VehicleLink");
        var fleet = FleetOperatorReflection.Descriptor.FindTypeByName<ServiceDescriptor>("FleetOperator");

        Assert.Equal(["Connect", "Report"], link.Methods.Select(m => m.Name));
        Assert.True(link.FindMethodByName("Connect") is { IsClientStreaming: true, IsServerStreaming: true });
        Assert.Equal(
            ["GetVehicle", "ListVehicles", "SendCommand", "GetCommand", "CancelCommand", "ListCommands", "WatchVehicle", "WatchFleet", "FindNearbyVehicles"],
            fleet.Methods.Select(m => m.Name));
        Assert.True(fleet.FindMethodByName("WatchVehicle") is { IsClientStreaming: false, IsServerStreaming: true });
        Assert.True(fleet.FindMethodByName("WatchFleet") is { IsClientStreaming: false, IsServerStreaming: true });
    }

    [Fact]
    public void SignalComments_NameTheVssPathOfEachTypedField()
    {
        var lines = File.ReadAllLines(Path.Combine(_protoDirectory, "signals.proto"));

        foreach (var (field, vssPath) in SignalRules.VssPathsByField)
        {
            var declaration = Array.FindIndex(lines, l => Regex.IsMatch(l, $@"^\s+(optional\s+)?\w+\s+{field}\s*=\s*\d+;"));
            Assert.True(declaration > 0, $"field {field} not found");
            Assert.StartsWith("// " + vssPath, lines[declaration - 1].Trim(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CommandStates_AreTheBriefedOnes()
    {
        var names = CommandsReflection.Descriptor.FindTypeByName<EnumDescriptor>("CommandState").Values.Select(v => v.Name);

        Assert.Equal(
            [
                "COMMAND_STATE_UNSPECIFIED", "COMMAND_STATE_PENDING", "COMMAND_STATE_DELIVERED", "COMMAND_STATE_SUCCEEDED",
                "COMMAND_STATE_FAILED", "COMMAND_STATE_REJECTED", "COMMAND_STATE_EXPIRED", "COMMAND_STATE_CANCELED",
            ],
            names);
    }

    private static bool IsDeclaration(string line)
    {
        if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal) || line == "}" || line.StartsWith("syntax ", StringComparison.Ordinal)
            || line.StartsWith("package ", StringComparison.Ordinal) || line.StartsWith("import ", StringComparison.Ordinal)
            || line.StartsWith("option ", StringComparison.Ordinal))
        {
            return false;
        }

        // Everything else is a service, rpc, message, enum, oneof, field or enum value.
        return true;
    }

    private static IEnumerable<MessageDescriptor> AllMessages(MessageDescriptor message) =>
        message.NestedTypes.SelectMany(AllMessages).Prepend(message);

    private static string FindProtoDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        for (var depth = 0; directory is not null && depth < 12; depth++, directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "protos", "vehicles", "v1");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("protos/vehicles/v1 not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]
    private static partial Regex SnakeCase();
}
