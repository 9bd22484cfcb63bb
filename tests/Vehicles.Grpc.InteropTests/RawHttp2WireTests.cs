using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// The server's wire format seen by nghttp, an HTTP/2 client that knows nothing of gRPC: frame order,
/// trailers-only responses, percent-encoded status messages, server-side deadlines (nghttp has no deadline
/// of its own, so only the server can end the call) and compressed response frames.
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class RawHttp2WireTests(InteropServerFixture fixture)
{
    private const string Echo = "/vehicles.testing.v1.TestService/Echo";
    private static readonly (string, string) _grpcContentType = ("content-type", "application/grpc");
    private static readonly (string, string) _teTrailers = ("te", "trailers");

    [Fact]
    public async Task Echo_WhenSucceeding_SendsHeadersThenOneDataFrameThenStatusTrailers()
    {
        var response = await NghttpClient.PostAsync(fixture.Server.Address, Echo, Frame(new EchoRequest { Message = "wire" }), _grpcContentType, _teTrailers);

        Assert.Equal(["HEADERS", "DATA", "HEADERS END_STREAM"], response.Frames);
        Assert.Equal("200", response.Header(":status"));
        Assert.Equal("application/grpc", response.Header("content-type"));
        Assert.Equal("0", response.Trailer("grpc-status"));
        Assert.Equal("wire", EchoReply.Parser.ParseFrom(Unframe(response.Body, out var compressed)).Message);
        Assert.False(compressed);
    }

    [Fact]
    public async Task Echo_WhenFailingBeforeAnyMessage_SendsTrailersOnlyWithPercentEncodedMessage()
    {
        var request = new EchoRequest { FailWithCode = 5, FailWithMessage = "Fahrzeug nicht gefunden: Größe ✓" };

        var response = await NghttpClient.PostAsync(fixture.Server.Address, Echo, Frame(request), _grpcContentType, _teTrailers);

        Assert.Equal(["HEADERS END_STREAM"], response.Frames);
        Assert.Equal("200", response.Header(":status"));
        Assert.Equal("5", response.Header("grpc-status"));
        Assert.Equal("Fahrzeug nicht gefunden: Gr%C3%B6%C3%9Fe %E2%9C%93", response.Header("grpc-message"));
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Echo_WithGrpcTimeoutAndNoClientDeadline_ServerEndsCallWithDeadlineExceeded()
    {
        var callId = Guid.NewGuid().ToString("N");
        var request = new EchoRequest { Message = "slow", DelayMs = 30_000 };

        var response = await NghttpClient.PostAsync(
            fixture.Server.Address, Echo, Frame(request), _grpcContentType, _teTrailers, ("grpc-timeout", "300m"), (CallProbe.CallIdHeader, callId));

        Assert.Equal("4", response.Header("grpc-status") ?? response.Trailer("grpc-status"));
        var call = await fixture.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
    }

    [Fact]
    public async Task Echo_WithNonGrpcContentType_Answers415()
    {
        var response = await NghttpClient.PostAsync(fixture.Server.Address, Echo, Frame(new EchoRequest()), ("content-type", "application/json"));

        Assert.Equal("415", response.Header(":status"));
    }

    [Fact]
    public async Task Echo_WhenServerCompressesAndClientAcceptsGzip_SendsGzipFrameFlaggedCompressed()
    {
        await using var server = await InteropServerFixture.StartServerAsync(grpc => grpc.ResponseCompressionAlgorithm = "gzip");
        var request = new EchoRequest { Message = "zip", ResponseSize = 10_000 };

        var response = await NghttpClient.PostAsync(
            server.Address, Echo, Frame(request), _grpcContentType, _teTrailers, ("grpc-accept-encoding", "identity,gzip"));

        Assert.Equal("gzip", response.Header("grpc-encoding"));
        Assert.Equal("0", response.Trailer("grpc-status"));
        var message = Unframe(response.Body, out var compressed);
        Assert.True(compressed);
        Assert.True(message.Length < 10_000, $"a 10,000-byte repeating payload should shrink, got {message.Length} bytes");
        using var gzip = new GZipStream(new MemoryStream(message), CompressionMode.Decompress);
        var reply = EchoReply.Parser.ParseFrom(gzip);
        Assert.Equal("zip", reply.Message);
        Assert.Equal(10_000, reply.Payload.Length);
    }

    [Fact]
    public async Task Echo_WhenServerCompressesButClientDoesNotAcceptGzip_SendsPlainFrame()
    {
        await using var server = await InteropServerFixture.StartServerAsync(grpc => grpc.ResponseCompressionAlgorithm = "gzip");

        var response = await NghttpClient.PostAsync(
            server.Address, Echo, Frame(new EchoRequest { Message = "plain" }), _grpcContentType, _teTrailers, ("grpc-accept-encoding", "identity"));

        Assert.Null(response.Header("grpc-encoding"));
        Assert.Equal("plain", EchoReply.Parser.ParseFrom(Unframe(response.Body, out var compressed)).Message);
        Assert.False(compressed);
    }

    private static byte[] Frame(EchoRequest request)
    {
        var message = request.ToByteArray();
        var framed = new byte[GrpcProtocol.FrameHeaderLength + message.Length];
        GrpcProtocol.WriteFrameHeader(framed, compressed: false, message.Length);
        message.CopyTo(framed, GrpcProtocol.FrameHeaderLength);
        return framed;
    }

    /// <summary>The one message of a body, checking that the frame header's length covers the rest exactly.</summary>
    private static byte[] Unframe(byte[] body, out bool compressed)
    {
        Assert.True(body.Length >= GrpcProtocol.FrameHeaderLength, $"the body has {body.Length} bytes, less than a frame header");
        compressed = body[0] == 1;
        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        Assert.Equal(body.Length - GrpcProtocol.FrameHeaderLength, (int)length);
        return body[GrpcProtocol.FrameHeaderLength..];
    }
}
