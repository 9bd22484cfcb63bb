using System.IO.Compression;
using System.Net.Http.Headers;
using Google.Protobuf;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class CompressionTests(GzipResponsesFixture fixture) : IClassFixture<GzipResponsesFixture>
{
    private static readonly ByteString _compressible = ByteString.CopyFrom(new byte[64 * 1024]);

    [Fact]
    public async Task Unary_WithGzipBothWays_RoundTripsAndResponseIsGzipped()
    {
        using var recorder = new ResponseHeaderRecorder();
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { SendCompression = GrpcProtocol.GzipEncoding, HttpHandler = recorder });
        var client = new TestServiceClient(channel);

        var reply = await client.EchoAsync(new EchoRequest { Message = "zip", Payload = _compressible });

        Assert.Equal("zip", reply.Message);
        Assert.Equal(_compressible, reply.Payload);
        Assert.Equal(GrpcProtocol.GzipEncoding, recorder.RequestEncoding);
        Assert.Equal(GrpcProtocol.GzipEncoding, recorder.ResponseEncoding);
    }

    [Fact]
    public async Task Duplex_WithGzipBothWays_RoundTripsEveryMessage()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { SendCompression = GrpcProtocol.GzipEncoding });
        var client = new TestServiceClient(channel);

        using var call = client.Duplex();
        var replies = new List<EchoReply>();
        for (var i = 0; i < 5; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = "m" + i, Payload = _compressible });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            replies.Add(call.ResponseStream.Current);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], replies.Select(r => r.Message));
        Assert.All(replies, r => Assert.Equal(_compressible, r.Payload));
    }

    [Fact]
    public async Task Unary_WhenGzippedResponseInflatesPastReceiveLimit_ThrowsResourceExhausted()
    {
        // 64 KiB of zeros compress to well under the limit: only the decompressed size can trip it.
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 });
        var client = new TestServiceClient(channel);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(new EchoRequest { ResponseSize = 64 * 1024 }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
    }

    [Fact]
    public void WriteFrame_WithGzip_SetsCompressedFlagAndInflatesToTheMessage()
    {
        var message = new EchoRequest { Message = "frame", Payload = _compressible };

        var frame = GrpcClientProtocol.WriteFrame(Marshallers.Protobuf<EchoRequest>(), message, maxSize: null, GrpcProtocol.GzipEncoding, pooled: false);
        var (flag, length) = GrpcProtocol.ReadFrameHeader(frame.Buffer);
        using var gzip = new GZipStream(new MemoryStream(frame.Buffer, GrpcProtocol.FrameHeaderLength, (int)length), CompressionMode.Decompress);
        var inflated = EchoRequest.Parser.ParseFrom(gzip);

        Assert.Equal(1, flag);
        Assert.Equal(frame.Length - GrpcProtocol.FrameHeaderLength, (int)length);
        Assert.True(length < 1024);
        Assert.Equal(message, inflated);
    }

    [Fact]
    public void WriteFrame_WithoutCompression_WritesPlainFrame()
    {
        var message = new EchoRequest { Message = "plain" };

        var frame = GrpcClientProtocol.WriteFrame(Marshallers.Protobuf<EchoRequest>(), message, maxSize: null, compression: null, pooled: false);
        var (flag, length) = GrpcProtocol.ReadFrameHeader(frame.Buffer);

        Assert.Equal(0, flag);
        Assert.Equal(message.CalculateSize(), (int)length);
        Assert.Equal(message, EchoRequest.Parser.ParseFrom(frame.Buffer, GrpcProtocol.FrameHeaderLength, (int)length));
    }

    [Fact]
    public void Gunzip_OfABomb_StopsAtTheLimit()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(new byte[8 * 1024 * 1024]);
        }

        var exception = Record.Exception(() => GrpcClientProtocol.Gunzip(compressed.GetBuffer(), (int)compressed.Length, maxSize: 4096));

        Assert.Equal(StatusCode.ResourceExhausted, Assert.IsType<RpcException>(exception).StatusCode);
    }

    /// <summary>Sends through a real handler and remembers the grpc-encoding headers of the last exchange.</summary>
    private sealed class ResponseHeaderRecorder() : DelegatingHandler(new SocketsHttpHandler())
    {
        public string? RequestEncoding { get; private set; }

        public string? ResponseEncoding { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            RequestEncoding = First(request.Headers);
            var response = await base.SendAsync(request, cancellationToken);
            ResponseEncoding = First(response.Headers);
            return response;
        }

        private static string? First(HttpHeaders headers) =>
            headers.TryGetValues(GrpcProtocol.EncodingHeader, out var values) ? values.FirstOrDefault() : null;
    }
}
