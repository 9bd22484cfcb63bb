using System.Net;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Server;

/// <summary>
/// A unary request whose message arrives in several HTTP/2 DATA frames: the server cannot take its fast path
/// (the whole body already buffered) and must wait for the rest of the frame.
/// </summary>
public sealed class SplitBodyTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private readonly HttpClient _client = RawGrpc.CreateClient();

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(20)]
    public async Task Unary_WithMessageSplitAcrossDataFrames_IsReassembled(int firstPartLength)
    {
        var frame = RawGrpc.Frame(new EchoRequest { Message = new string('v', 64) });
        var request = RawGrpc.Request(_server.Address, TestServer.Methods.Echo, []);
        request.Content = new SplitContent(frame, firstPartLength);
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");

        var response = await RawGrpc.SendAsync(_client, request);

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal(new string('v', 64), response.Message(0, EchoReply.Parser).Message);
    }

    /// <summary>Writes the body in two flushed parts, so that they travel as separate DATA frames.</summary>
    private sealed class SplitContent(byte[] body, int firstPartLength) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, firstPartLength));
            await stream.FlushAsync();
            await Task.Yield();
            await stream.WriteAsync(body.AsMemory(firstPartLength));
            await stream.FlushAsync();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
