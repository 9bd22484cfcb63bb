using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Reflection.V1;

namespace Vehicles.EndToEnd.Tests;

/// <summary>grpc.reflection.v1 on the silo, as grpcurl or Postman use it, through Grpc.Reflection's client.</summary>
public sealed class ReflectionTests : SiloTestBase
{
    [Fact]
    public async Task ListServices_NamesTheApiHealthAndReflection()
    {
        var response = await AskAsync(new ServerReflectionRequest { ListServices = "" });

        var names = response.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("vehicles.v1.VehicleLink", names);
        Assert.Contains("vehicles.v1.FleetOperator", names);
        Assert.Contains("vehicles.v1.ClusterAdmin", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);
    }

    [Theory]
    [InlineData("vehicles.v1.FleetOperator", "vehicles/v1/fleet_operator.proto")]
    [InlineData("vehicles.v1.VehicleLink.Connect", "vehicles/v1/vehicle_link.proto")]
    [InlineData("vehicles.v1.SendCommandRequest", "vehicles/v1/fleet_operator.proto")]
    public async Task FileContainingSymbol_ReturnsTheFileThatDeclaresIt(string symbol, string fileName)
    {
        var response = await AskAsync(new ServerReflectionRequest { FileContainingSymbol = symbol });

        var files = response.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom).ToList();
        var file = Assert.Single(files, f => f.Name == fileName);
        Assert.Equal("vehicles.v1", file.Package);
        Assert.Equal(ServerReflectionResponse.MessageResponseOneofCase.FileDescriptorResponse, response.MessageResponseCase);
    }

    [Fact]
    public async Task FileContainingSymbol_ThatNoFileDeclares_IsNotFound()
    {
        var response = await AskAsync(new ServerReflectionRequest { FileContainingSymbol = "vehicles.v1.NoSuchService" });

        Assert.Equal(ServerReflectionResponse.MessageResponseOneofCase.ErrorResponse, response.MessageResponseCase);
        Assert.Equal((int)StatusCode.NotFound, response.ErrorResponse.ErrorCode);
    }

    /// <summary>One request on a reflection stream of its own (anonymous, with a deadline); its one answer.</summary>
    private async Task<ServerReflectionResponse> AskAsync(ServerReflectionRequest request)
    {
        using var call = new ServerReflection.ServerReflectionClient(Silo.Invoker).ServerReflectionInfo(TestSilo.With(null));
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        var responses = new List<ServerReflectionResponse>();
        for (var i = 0; i < 10 && await call.ResponseStream.MoveNext(CancellationToken.None); i++)
        {
            responses.Add(call.ResponseStream.Current);
        }

        return Assert.Single(responses);
    }
}
