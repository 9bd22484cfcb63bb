using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Vehicles.Grpc.Testing;
using Xunit;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace Vehicles.Grpc.Tests.Server;

public sealed class HealthAndReflectionTests : IAsyncLifetime
{
    private const string HealthCheck = "/grpc.health.v1.Health/Check";
    private const string HealthWatch = "/grpc.health.v1.Health/Watch";
    private TestServer _server = null!;
    private readonly HttpClient _client = RawGrpc.CreateClient();

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private Task<RawResponse> CheckAsync(string service) =>
        RawGrpc.SendAsync(_client, RawGrpc.Request(_server.Address, HealthCheck, RawGrpc.Frame(new HealthCheckRequest { Service = service })));

    [Fact]
    public async Task HealthCheck_ForOverallServer_IsServing()
    {
        var response = await CheckAsync(string.Empty);

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal(ServingStatus.Serving, response.Message(0, HealthCheckResponse.Parser).Status);
    }

    [Fact]
    public async Task HealthCheck_AfterSetStatus_ReturnsIt()
    {
        _server.Health.SetStatus("vehicles.v1.Vehicles", ServingStatus.NotServing);

        var response = await CheckAsync("vehicles.v1.Vehicles");

        Assert.Equal(ServingStatus.NotServing, response.Message(0, HealthCheckResponse.Parser).Status);
    }

    [Fact]
    public async Task HealthCheck_ForUnknownService_ReturnsNotFound()
    {
        var response = await CheckAsync("no.such.Service");

        Assert.Equal((int)StatusCode.NotFound, response.GrpcStatus);
    }

    [Fact]
    public async Task HealthWatch_StreamsCurrentStatusThenChanges()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var request = RawGrpc.Request(_server.Address, HealthWatch, RawGrpc.Frame(new HealthCheckRequest { Service = "watched" }));

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        var first = HealthCheckResponse.Parser.ParseFrom(await RawGrpc.ReadFrameAsync(body, cts.Token));
        _server.Health.SetStatus("watched", ServingStatus.Serving);
        var second = HealthCheckResponse.Parser.ParseFrom(await RawGrpc.ReadFrameAsync(body, cts.Token));
        _server.Health.SetStatus("watched", ServingStatus.NotServing);
        var third = HealthCheckResponse.Parser.ParseFrom(await RawGrpc.ReadFrameAsync(body, cts.Token));

        Assert.Equal(ServingStatus.ServiceUnknown, first.Status);
        Assert.Equal(ServingStatus.Serving, second.Status);
        Assert.Equal(ServingStatus.NotServing, third.Status);
    }

    private async Task<List<V1.ServerReflectionResponse>> ReflectAsync(params V1.ServerReflectionRequest[] requests)
    {
        using var output = new MemoryStream();
        foreach (var request in requests)
        {
            output.Write(RawGrpc.Frame(request));
        }

        var response = await RawGrpc.SendAsync(_client, RawGrpc.Request(_server.Address, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", output.ToArray()));
        Assert.Equal(0, response.GrpcStatus);
        return [.. Enumerable.Range(0, response.Messages.Count).Select(i => response.Message(i, V1.ServerReflectionResponse.Parser))];
    }

    private static List<FileDescriptorProto> Files(V1.ServerReflectionResponse response) =>
        [.. response.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom)];

    [Fact]
    public async Task Reflection_ListServices_NamesEveryMappedService()
    {
        var responses = await ReflectAsync(new V1.ServerReflectionRequest { ListServices = "*" });

        var names = responses.Single().ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "vehicles.testing.v1.TestService"],
            names);
    }

    [Fact]
    public async Task Reflection_FileByFilename_ReturnsTheFile()
    {
        var responses = await ReflectAsync(new V1.ServerReflectionRequest { FileByFilename = "vehicles/testing/v1/test_service.proto" });

        var file = Assert.Single(Files(responses.Single()));
        Assert.Equal("vehicles.testing.v1", file.Package);
        Assert.Equal("TestService", file.Service.Single().Name);
    }

    [Theory]
    [InlineData("vehicles.testing.v1.TestService")]
    [InlineData("vehicles.testing.v1.TestService.Duplex")]
    [InlineData("vehicles.testing.v1.EchoRequest")]
    public async Task Reflection_FileContainingSymbol_FindsServicesMethodsAndMessages(string symbol)
    {
        var responses = await ReflectAsync(new V1.ServerReflectionRequest { FileContainingSymbol = symbol });

        Assert.Equal("vehicles/testing/v1/test_service.proto", Files(responses.Single())[0].Name);
    }

    [Fact]
    public async Task Reflection_FileContainingNestedEnum_FindsItsFile()
    {
        var responses = await ReflectAsync(new V1.ServerReflectionRequest { FileContainingSymbol = "grpc.health.v1.HealthCheckResponse.ServingStatus" });

        Assert.Equal("grpc/health/v1/health.proto", Files(responses.Single())[0].Name);
    }

    [Fact]
    public async Task Reflection_UnknownSymbolAndExtension_AnswerNotFound()
    {
        var responses = await ReflectAsync(
            new V1.ServerReflectionRequest { FileContainingSymbol = "no.Such" },
            new V1.ServerReflectionRequest { FileContainingExtension = new V1.ExtensionRequest { ContainingType = "vehicles.testing.v1.EchoRequest", ExtensionNumber = 100 } });

        Assert.Equal(2, responses.Count);
        Assert.All(responses, r => Assert.Equal((int)StatusCode.NotFound, r.ErrorResponse.ErrorCode));
        Assert.Equal("no.Such", responses[0].OriginalRequest.FileContainingSymbol);
    }

    [Fact]
    public void ReflectionIndex_ForFileWithDependencies_ReturnsThemTransitivelyOnce()
    {
        var index = new Vehicles.Grpc.Reflection.ReflectionIndex([V1.ReflectionReflection.Descriptor.Services[0]]);

        var files = Vehicles.Grpc.Reflection.ReflectionIndex.WithDependencies(Google.Protobuf.WellKnownTypes.Api.Descriptor.File)
            .Select(b => FileDescriptorProto.Parser.ParseFrom(b).Name)
            .ToList();

        Assert.Equal(["google/protobuf/api.proto", "google/protobuf/source_context.proto", "google/protobuf/type.proto", "google/protobuf/any.proto"], files);
        Assert.NotNull(index.FindSymbol("grpc.reflection.v1.ServerReflection.ServerReflectionInfo"));
    }

    [Fact]
    public async Task ReflectionV1Alpha_ListServices_Works()
    {
        var body = RawGrpc.Frame(new V1Alpha.ServerReflectionRequest { ListServices = "" });

        var response = await RawGrpc.SendAsync(_client, RawGrpc.Request(_server.Address, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", body));

        var reply = response.Message(0, V1Alpha.ServerReflectionResponse.Parser);
        Assert.Contains(reply.ListServicesResponse.Service, s => s.Name == "vehicles.testing.v1.TestService");
    }
}
