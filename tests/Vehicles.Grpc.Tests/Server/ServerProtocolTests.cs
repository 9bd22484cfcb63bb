using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Server;

public sealed class ServerProtocolTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private readonly HttpClient _client = RawGrpc.CreateClient();

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private Task<RawResponse> SendAsync(string path, byte[] body, string contentType = "application/grpc", Action<HttpRequestMessage>? configure = null)
    {
        var request = RawGrpc.Request(_server.Address, path, body, contentType);
        configure?.Invoke(request);
        return RawGrpc.SendAsync(_client, request);
    }

    [Fact]
    public async Task Unary_WithValidRequest_ReturnsMessageThenOkTrailers()
    {
        var body = RawGrpc.Frame(new EchoRequest { Message = "hello", Payload = ByteString.CopyFromUtf8("abc") });

        var response = await SendAsync(TestServer.Methods.Echo, body);

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal("application/grpc", response.ContentType);
        Assert.False(response.TrailersOnly);
        Assert.Equal(0, response.GrpcStatus);
        var reply = Assert.Single(response.Messages);
        Assert.False(reply.Compressed);
        Assert.Equal("hello", response.Message(0, EchoReply.Parser).Message);
        Assert.Equal("abc", response.Message(0, EchoReply.Parser).Payload.ToStringUtf8());
    }

    [Fact]
    public async Task Unary_WithGrpcProtoContentType_IsAccepted()
    {
        var response = await SendAsync(TestServer.Methods.Echo, RawGrpc.Frame(new EchoRequest { Message = "x" }), "application/grpc+proto");

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal("x", response.Message(0, EchoReply.Parser).Message);
    }

    [Fact]
    public async Task Unary_WithTruncatedFrame_ReturnsInternalIncompleteMessage()
    {
        var frame = RawGrpc.Frame(new EchoRequest { Message = "hello" });

        var response = await SendAsync(TestServer.Methods.Echo, frame[..^2]);

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Equal("Incomplete message.", response.GrpcMessage);
    }

    [Fact]
    public async Task Unary_WithEmptyBody_ReturnsInternal()
    {
        var response = await SendAsync(TestServer.Methods.Echo, []);

        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public async Task Unary_WithLengthPrefixOverLimit_ReturnsResourceExhaustedNamingSizes()
    {
        var header = new byte[GrpcProtocol.FrameHeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), 5_000_000);

        var response = await SendAsync(TestServer.Methods.Echo, header);

        Assert.Equal((int)StatusCode.ResourceExhausted, response.GrpcStatus);
        Assert.Equal("Received message larger than max (5000000 vs. 4194304).", response.GrpcMessage);
    }

    [Fact]
    public async Task Unary_WithCompressedFlagButNoEncoding_ReturnsInternal()
    {
        var body = RawGrpc.Frame(new EchoRequest { Message = "x" }, compress: true);

        var response = await SendAsync(TestServer.Methods.Echo, body);

        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Contains("without a grpc-encoding", response.GrpcMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_WithUnknownEncoding_ReturnsUnimplementedListingAcceptedEncodings()
    {
        var body = RawGrpc.Frame(new EchoRequest { Message = "x" }, compress: true);

        var response = await SendAsync(TestServer.Methods.Echo, body, configure: r => r.Headers.Add("grpc-encoding", "snappy"));

        Assert.Equal((int)StatusCode.Unimplemented, response.GrpcStatus);
        Assert.Equal("Unsupported grpc-encoding value 'snappy'. Supported encodings: identity,gzip", response.GrpcMessage);
        Assert.Equal("identity,gzip", response.Trailer("grpc-accept-encoding"));
    }

    [Fact]
    public async Task Unary_WithTwoMessages_ReturnsInternal()
    {
        var body = RawGrpc.Frame(new EchoRequest { Message = "a" }).Concat(RawGrpc.Frame(new EchoRequest { Message = "b" })).ToArray();

        var response = await SendAsync(TestServer.Methods.Echo, body);

        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Equal("Additional data after the message received.", response.GrpcMessage);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public async Task ServerStreaming_WithTwoMessages_ReturnsInternal()
    {
        var body = RawGrpc.Frame(new StreamRequest { Count = 1 }).Concat(RawGrpc.Frame(new StreamRequest { Count = 1 })).ToArray();

        var response = await SendAsync(TestServer.Methods.ServerStream, body);

        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public async Task Unary_WithGarbageProtobuf_ReturnsInternalFailedToDeserialize()
    {
        var response = await SendAsync(TestServer.Methods.Echo, RawGrpc.Frame([0xFF, 0xFF, 0xFF, 0xFF]));

        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Equal("Failed to deserialize request message.", response.GrpcMessage);
    }

    [Fact]
    public async Task Unary_WithUnparseableTimeout_IgnoresItAndSucceeds()
    {
        var body = RawGrpc.Frame(new EchoRequest { Message = "x" });

        var response = await SendAsync(TestServer.Methods.Echo, body, configure: r => r.Headers.TryAddWithoutValidation("grpc-timeout", "soon"));

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal("x", response.Message(0, EchoReply.Parser).Message);
        Assert.Contains(_server.Logs.Entries, e => e.Message.Contains("Ignoring invalid grpc-timeout 'soon'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_WithWrongContentType_Returns415()
    {
        var response = await SendAsync(TestServer.Methods.Echo, RawGrpc.Frame(new EchoRequest()), "application/json");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Equal("Content-Type 'application/json' is not supported.", response.GrpcMessage);
    }

    [Fact]
    public async Task Request_ForUnknownMethod_ReturnsUnimplementedTrailersOnly()
    {
        var response = await SendAsync("/vehicles.testing.v1.TestService/Nope", RawGrpc.Frame(new EchoRequest()));

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Equal((int)StatusCode.Unimplemented, response.GrpcStatus);
        Assert.Equal("Method is unimplemented.", response.GrpcMessage);
    }

    [Fact]
    public async Task Request_ForUnknownService_ReturnsUnimplementedTrailersOnly()
    {
        var response = await SendAsync("/no.such.Service/Method", RawGrpc.Frame(new EchoRequest()));

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Equal((int)StatusCode.Unimplemented, response.GrpcStatus);
        Assert.Equal("Service is unimplemented.", response.GrpcMessage);
    }

    [Fact]
    public async Task Handler_ThrowingException_ReturnsUnknownWithoutInternalsAndLogsIt()
    {
        var response = await SendAsync(TestServer.Methods.Echo, RawGrpc.Frame(new EchoRequest { ThrowException = true }));

        Assert.Equal((int)StatusCode.Unknown, response.GrpcStatus);
        Assert.Equal("Exception was thrown by handler.", response.GrpcMessage);
        Assert.Contains(_server.Logs.Entries, e => e.Exception?.Message == TestServer.SecretExceptionMessage);
    }

    [Fact]
    public async Task Handler_ThrowingRpcException_ReturnsItsStatusTrailersOnlyWithEncodedMessage()
    {
        var request = new EchoRequest { FailWithCode = (int)StatusCode.NotFound, FailWithMessage = "no vehicle ünïcode 100%" };

        var response = await SendAsync(TestServer.Methods.Echo, RawGrpc.Frame(request));

        Assert.True(response.TrailersOnly);
        Assert.Equal((int)StatusCode.NotFound, response.GrpcStatus);
        Assert.Equal("no vehicle ünïcode 100%", response.GrpcMessage);
    }

    [Fact]
    public async Task ServerStreaming_FailingAfterMessages_SendsStatusInTrailers()
    {
        var request = new StreamRequest { Message = "m", Count = 3, FailWithCode = (int)StatusCode.Aborted, FailWithMessage = "stop" };

        var response = await SendAsync(TestServer.Methods.ServerStream, RawGrpc.Frame(request));

        Assert.False(response.TrailersOnly);
        Assert.Equal([1L, 2L, 3L], Enumerable.Range(0, response.Messages.Count).Select(i => response.Message(i, EchoReply.Parser).Count));
        Assert.Equal((int)StatusCode.Aborted, response.GrpcStatus);
        Assert.Equal("stop", response.GrpcMessage);
    }

    [Fact]
    public async Task ClientStreaming_WithSeveralMessages_JoinsThem()
    {
        var body = RawGrpc.EchoFrames("a", "b", "c");

        var response = await SendAsync(TestServer.Methods.ClientStream, body);

        Assert.Equal(0, response.GrpcStatus);
        var reply = response.Message(0, EchoReply.Parser);
        Assert.Equal("a,b,c", reply.Message);
        Assert.Equal(3, reply.Count);
    }

    [Fact]
    public async Task ClientStreaming_WithTruncatedSecondMessage_ReturnsInternal()
    {
        var body = RawGrpc.Frame(new EchoRequest { Message = "a" }).Concat(RawGrpc.Frame(new EchoRequest { Message = "bb" })[..^1]).ToArray();

        var response = await SendAsync(TestServer.Methods.ClientStream, body);

        Assert.Equal((int)StatusCode.Internal, response.GrpcStatus);
        Assert.Equal("Incomplete message.", response.GrpcMessage);
    }

    [Fact]
    public async Task Duplex_WithCompleteRequestBody_RepliesToEach()
    {
        var body = RawGrpc.EchoFrames("a", "b");

        var response = await SendAsync(TestServer.Methods.Duplex, body);

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal(["a", "b"], Enumerable.Range(0, response.Messages.Count).Select(i => response.Message(i, EchoReply.Parser).Message));
    }

    [Fact]
    public async Task Metadata_WithBinaryAndAsciiValues_RoundTripsThroughHeadersAndTrailers()
    {
        byte[] binary = [0, 1, 2, 250, 255];
        var request = new EchoRequest { Message = "m", EchoMetadata = true };

        var response = await SendAsync(TestServer.Methods.Echo, RawGrpc.Frame(request), configure: r =>
        {
            r.Headers.Add("x-echo-id-bin", Convert.ToBase64String(binary).TrimEnd('='));
            r.Headers.Add("x-echo-name", "vehicle-1");
        });

        Assert.Equal(0, response.GrpcStatus);
        var reply = response.Message(0, EchoReply.Parser);
        Assert.Contains("x-echo-id-bin=" + Convert.ToBase64String(binary), reply.Metadata);
        Assert.Contains("x-echo-name=vehicle-1", reply.Metadata);
        Assert.Equal(binary, Convert.FromBase64String(response.Trailer("x-echo-id-bin")!));
        Assert.Equal("vehicle-1", response.Trailer("x-echo-name"));
    }

    [Fact]
    public async Task RequestHeaders_ExcludeReservedHeaders()
    {
        var request = new EchoRequest { EchoMetadata = true };

        var response = await SendAsync(TestServer.Methods.Echo, RawGrpc.Frame(request), configure: r =>
        {
            r.Headers.TryAddWithoutValidation("grpc-timeout", "10S");
            r.Headers.Add("x-a", "1");
        });

        Assert.Equal(["x-a=1"], response.Message(0, EchoReply.Parser).Metadata);
    }
}
