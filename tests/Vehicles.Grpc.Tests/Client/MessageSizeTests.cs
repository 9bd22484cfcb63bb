using Google.Protobuf;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class MessageSizeTests(SmallLimitsFixture fixture) : IClassFixture<SmallLimitsFixture>
{
    [Fact]
    public async Task Unary_WhenRequestExceedsServerLimit_ThrowsResourceExhausted()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        var request = new EchoRequest { Payload = ByteString.CopyFrom(new byte[SmallLimitsFixture.MaxReceiveMessageSize * 2]) };

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
    }

    [Fact]
    public async Task Unary_WhenRequestExceedsClientSendLimit_FailsLocallyWithResourceExhausted()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { MaxSendMessageSize = 100 });
        var client = new TestServiceClient(channel);
        fixture.Connections.Reset();

        using var call = client.EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[101]) });
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
        Assert.Equal(0, fixture.Connections.Count);
    }

    [Fact]
    public async Task Unary_WhenResponseExceedsClientReceiveLimit_ThrowsResourceExhausted()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });
        var client = new TestServiceClient(channel);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(new EchoRequest { ResponseSize = 1000 }).ResponseAsync);
        var fits = await client.EchoAsync(new EchoRequest { ResponseSize = 990 });

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
        Assert.Equal(990, fits.Payload.Length);
    }

    [Fact]
    public async Task ServerStream_WhenOneResponseExceedsClientReceiveLimit_ThrowsResourceExhausted()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });
        var client = new TestServiceClient(channel);

        using var call = client.ServerStream(new StreamRequest { Count = 3, ResponseSize = 2000 });
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Duplex_WhenWritingOversizeMessage_ThrowsResourceExhaustedAndEndsTheCall()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { MaxSendMessageSize = 100 });
        var client = new TestServiceClient(channel);

        using var call = client.Duplex();
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "small" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[200]) }));

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStream_WhenOneMessageExceedsServerLimit_ThrowsResourceExhausted()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);

        using var call = client.ClientStream();
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "ok" });
        try
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[4096]) });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server may end the call while the request is still being written; the response tells why.
        }

        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
    }
}
