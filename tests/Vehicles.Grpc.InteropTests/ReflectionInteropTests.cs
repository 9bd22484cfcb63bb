namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// Server reflection v1 and v1alpha through raw ServerReflectionInfo calls from python3-grpcio, decoding the
/// returned FileDescriptorProto bytes with python's protobuf.
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class ReflectionInteropTests(InteropServerFixture fixture)
{
    [Theory]
    [InlineData("v1")]
    [InlineData("v1alpha")]
    public async Task ListServices_ReturnsTestHealthAndReflectionServices(string version)
    {
        var result = await ReflectAsync(version, new { list_services = string.Empty });

        var answer = Assert.Single(result.GetProperty("answers").EnumerateArray());
        Assert.Equal("list_services_response", answer.Str("kind"));
        var services = answer.Strings("services");
        Assert.Contains("vehicles.testing.v1.TestService", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains($"grpc.reflection.{version}.ServerReflection", services);
    }

    [Theory]
    [InlineData("v1", "vehicles.testing.v1.TestService")]
    [InlineData("v1alpha", "vehicles.testing.v1.TestService")]
    [InlineData("v1", "vehicles.testing.v1.TestService.Duplex")]
    [InlineData("v1", "vehicles.testing.v1.EchoReply")]
    public async Task FileContainingSymbol_ReturnsTheTestServiceProtoWithItsFourMethods(string version, string symbol)
    {
        var result = await ReflectAsync(version, new { file_containing_symbol = symbol });

        var answer = Assert.Single(result.GetProperty("answers").EnumerateArray());
        Assert.Equal("file_descriptor_response", answer.Str("kind"));
        var file = answer.GetProperty("files")[0];
        Assert.Equal("vehicles/testing/v1/test_service.proto", file.Str("name"));
        Assert.Equal("vehicles.testing.v1", file.Str("package"));
        Assert.Equal(["EchoRequest", "EchoReply", "StreamRequest"], file.Strings("messages"));
        var service = Assert.Single(file.GetProperty("services").EnumerateArray());
        Assert.Equal("TestService", service.Str("name"));
        var methods = service.GetProperty("methods").EnumerateArray()
            .Select(m => (m.Str("name"), m.GetProperty("client_streaming").GetBoolean(), m.GetProperty("server_streaming").GetBoolean()));
        Assert.Equal([("Echo", false, false), ("ServerStream", false, true), ("ClientStream", true, false), ("Duplex", true, true)], methods);
        Assert.Equal(".vehicles.testing.v1.EchoRequest", service.GetProperty("methods")[0].Str("input"));
    }

    [Fact]
    public async Task FileByFilename_HealthProto_ReturnsItsDescriptor()
    {
        var result = await ReflectAsync("v1", new { file_by_filename = "grpc/health/v1/health.proto" });

        var answer = Assert.Single(result.GetProperty("answers").EnumerateArray());
        Assert.Equal("file_descriptor_response", answer.Str("kind"));
        var file = answer.GetProperty("files")[0];
        Assert.Equal("grpc/health/v1/health.proto", file.Str("name"));
        Assert.Equal("Health", Assert.Single(file.GetProperty("services").EnumerateArray()).Str("name"));
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("v1alpha")]
    public async Task FileContainingSymbol_WhenUnknown_AnswersNotFoundErrorAndKeepsTheStreamOpen(string version)
    {
        // Three requests on one stream: the error answer must not end the call.
        var result = await ReflectAsync(
            version,
            new { file_containing_symbol = "vehicles.nowhere.v1.Missing" },
            new { list_services = string.Empty },
            new { file_by_filename = "no/such/file.proto" });

        Assert.Equal("OK", result.Str("code"));
        var answers = result.GetProperty("answers").EnumerateArray().ToList();
        Assert.Equal(["error_response", "list_services_response", "error_response"], answers.Select(a => a.Str("kind")));
        Assert.Equal(5, answers[0].GetProperty("error_code").GetInt32());
        Assert.Equal(5, answers[2].GetProperty("error_code").GetInt32());
        Assert.Equal(["file_containing_symbol", "list_services", "file_by_filename"], answers.Select(a => a.Str("original_request")));
    }

    private async Task<JsonElement> ReflectAsync(string version, params object[] requests)
    {
        var result = await fixture.Python.RunAsync("reflection", new { version, requests });
        Assert.False(result.TryGetProperty("error", out var error), error.ToString());
        return result;
    }
}
