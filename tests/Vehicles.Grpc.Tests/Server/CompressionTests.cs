using Google.Protobuf;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Server;

public sealed class CompressionTests
{
    private static HttpRequestMessage Echo(TestServer server, EchoRequest message, bool compress, string? acceptEncoding)
    {
        var request = RawGrpc.Request(server.Address, TestServer.Methods.Echo, RawGrpc.Frame(message, compress));
        if (compress)
        {
            request.Headers.Add("grpc-encoding", "gzip");
        }

        if (acceptEncoding is not null)
        {
            request.Headers.Add("grpc-accept-encoding", acceptEncoding);
        }

        return request;
    }

    [Fact]
    public async Task GzipRequest_IsDecompressed()
    {
        await using var server = await TestServer.StartAsync();
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, Echo(server, new EchoRequest { Message = new string('a', 1000) }, compress: true, acceptEncoding: null));

        Assert.Equal(0, response.GrpcStatus);
        Assert.False(response.Messages[0].Compressed);
        Assert.Equal(new string('a', 1000), response.Message(0, EchoReply.Parser).Message);
    }

    [Fact]
    public async Task Response_WhenConfiguredAndAccepted_IsGzipCompressed()
    {
        await using var server = await TestServer.StartAsync(o => o.ConfigureGrpc = g => g.ResponseCompressionAlgorithm = "gzip");
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, Echo(server, new EchoRequest { Message = "zip", ResponseSize = 2000 }, compress: false, acceptEncoding: "identity,gzip"));

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal("gzip", response.Headers.GetValues("grpc-encoding").Single());
        Assert.True(response.Messages[0].Compressed);
        Assert.True(response.Messages[0].Payload.Length < 2000);
        Assert.Equal(2000, response.Message(0, EchoReply.Parser).Payload.Length);
    }

    [Fact]
    public async Task Response_WhenClientDoesNotAcceptGzip_IsNotCompressed()
    {
        await using var server = await TestServer.StartAsync(o => o.ConfigureGrpc = g => g.ResponseCompressionAlgorithm = "gzip");
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, Echo(server, new EchoRequest { Message = "plain" }, compress: false, acceptEncoding: null));

        Assert.False(response.Headers.Contains("grpc-encoding"));
        Assert.False(response.Messages[0].Compressed);
        Assert.Equal("plain", response.Message(0, EchoReply.Parser).Message);
    }

    [Fact]
    public async Task GzipRequest_InflatingPastTheCap_ReturnsResourceExhausted()
    {
        await using var server = await TestServer.StartAsync(o => o.ConfigureGrpc = g => g.MaxDecompressedMessageSize = 10_000);
        using var client = RawGrpc.CreateClient();
        var bomb = new EchoRequest { Payload = ByteString.CopyFrom(new byte[100_000]) };

        var response = await RawGrpc.SendAsync(client, Echo(server, bomb, compress: true, acceptEncoding: null));

        Assert.Equal((int)StatusCode.ResourceExhausted, response.GrpcStatus);
        Assert.StartsWith("Received message after decompression larger than max (", response.GrpcMessage, StringComparison.Ordinal);
        Assert.EndsWith(" vs. 10000).", response.GrpcMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GzipRequest_WithCorruptData_ReturnsInternal()
    {
        await using var server = await TestServer.StartAsync();
        using var client = RawGrpc.CreateClient();
        var request = RawGrpc.Request(server.Address, TestServer.Methods.Echo, RawGrpc.Frame([1, 2, 3, 4, 5, 6], flag: 1));
        request.Headers.Add("grpc-encoding", "gzip");

        var response = await RawGrpc.SendAsync(client, request);

        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Equal("Failed to decompress request message.", response.GrpcMessage);
    }
}
