using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// grpc.reflection.v1 (Grpc.AspNetCore.Server.Reflection) driven by python3-grpcio as grpcurl drives it: list the
/// services, resolve their files, then call them with requests built from the reflected descriptors alone.
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class ReflectionInteropTests(InteropSiloFixture fixture)
{
    private const string Fleet = "interop";

    [Fact]
    public async Task ListServices_NamesTheApiHealthAndReflection()
    {
        var result = await fixture.Silo.Python.RunAsync("reflection", new { requests = new[] { new { list_services = string.Empty } } });

        Assert.Equal("OK", result.Str("code"));
        var answer = Assert.Single(result.GetProperty("answers").EnumerateArray());
        Assert.Equal("list_services_response", answer.Str("kind"));
        var services = answer.Strings("services");
        Assert.Contains("vehicles.v1.VehicleLink", services);
        Assert.Contains("vehicles.v1.FleetOperator", services);
        Assert.Contains("vehicles.v1.ClusterAdmin", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("grpc.reflection.v1.ServerReflection", services);
    }

    [Fact]
    public async Task FileContainingSymbol_OfAMethod_ReturnsItsFileWithEveryRpc()
    {
        var result = await fixture.Silo.Python.RunAsync("reflection", new { requests = new[] { new { file_containing_symbol = "vehicles.v1.FleetOperator.WatchVehicle" } } });

        var answer = Assert.Single(result.GetProperty("answers").EnumerateArray());
        Assert.Equal("file_descriptor_response", answer.Str("kind"));
        var file = answer.GetProperty("files").EnumerateArray().Single(f => f.Str("name") == "vehicles/v1/fleet_operator.proto");
        Assert.Equal("vehicles.v1", file.Str("package"));
        var service = Assert.Single(file.GetProperty("services").EnumerateArray());
        var methods = service.GetProperty("methods").EnumerateArray().ToDictionary(m => m.Str("name")!);
        Assert.Equal(FleetOperator.Descriptor.Methods.Select(m => m.Name).Order(), methods.Keys.Order());
        Assert.True(methods["WatchVehicle"].GetProperty("server_streaming").GetBoolean());
        Assert.Equal(".vehicles.v1.WatchVehicleRequest", methods["WatchVehicle"].Str("input"));
    }

    [Fact]
    public async Task UnknownSymbol_AnswersNotFoundAndKeepsTheStreamOpen()
    {
        var result = await fixture.Silo.Python.RunAsync("reflection", new
        {
            requests = new object[] { new { file_containing_symbol = "vehicles.nowhere.v1.Missing" }, new { list_services = string.Empty } },
        });

        Assert.Equal("OK", result.Str("code"));
        var answers = result.GetProperty("answers").EnumerateArray().ToList();
        Assert.Equal(["error_response", "list_services_response"], answers.Select(a => a.Str("kind")));
        Assert.Equal(5, answers[0].GetProperty("error_code").GetInt32());
    }

    [Fact]
    public async Task Grpcurl_FromReflectedDescriptorsAlone_CallsEveryApiService()
    {
        var silo = fixture.Silo;
        var vin = Vins.Next();
        var parameters = new
        {
            calls = new object[]
            {
                new { service = "vehicles.v1.VehicleLink", method = "Report", request = new { vin, status = Reports.Status(1, speed: 88) }, token = silo.VehicleToken(vin, Fleet) },
                new { service = "vehicles.v1.FleetOperator", method = "GetVehicle", request = new { vin }, token = silo.OperatorToken(OperatorRole.Viewer, Fleet) },
                new { service = "vehicles.v1.ClusterAdmin", method = "ListSilos", request = new { include_dead = true }, token = silo.OperatorToken(OperatorRole.Admin, "*") },
            },
        };

        var result = await silo.Python.RunAsync("grpcurl", parameters);

        Assert.Equal("OK", result.Str("reflection_code"));
        Assert.Contains("vehicles/v1/commands.proto", result.Strings("files"));
        Assert.Contains("google/protobuf/timestamp.proto", result.Strings("files"));
        var calls = result.GetProperty("calls").EnumerateArray().ToList();
        Assert.Equal(["OK", "OK", "OK"], calls.Select(c => c.Str("code")));
        Assert.Equal(["vehicles.v1.ReportRequest", "vehicles.v1.GetVehicleRequest", "vehicles.v1.ListSilosRequest"], calls.Select(c => c.Str("input")));
        Assert.Equal("1", calls[0].GetProperty("reply").GetProperty("ack").Str("sequence"));
        Assert.Equal(88, calls[1].GetProperty("reply").GetProperty("signals").GetProperty("speed").GetDouble());
        var siloEntry = Assert.Single(calls[2].GetProperty("reply").GetProperty("silos").EnumerateArray());
        Assert.True(siloEntry.GetProperty("local").GetBoolean());
        Assert.Equal("SILO_STATUS_ACTIVE", siloEntry.Str("status"));
    }
}
