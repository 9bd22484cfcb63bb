using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class MetadataAndErrorTests(TestServiceFixture fixture) : IClassFixture<TestServiceFixture>, IDisposable
{
    private const string NonAsciiMessage = "Fahrzeug nicht verfügbar — 車両 🚗 100% offline\nnext line";

    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Address);

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task Unary_SendsAsciiAndBinaryRequestHeaders()
    {
        var client = new TestServiceClient(_channel);
        var headers = new Metadata { { "x-vin", "WVWZZZ1JZXW000001" }, { "x-blob-bin", new byte[] { 0, 1, 2, 250, 255 } } };

        var reply = await client.EchoAsync(new EchoRequest { EchoMetadata = true }, new CallOptions(headers));

        Assert.Contains("x-vin=WVWZZZ1JZXW000001", reply.Metadata);
        Assert.Contains("x-blob-bin=" + Convert.ToBase64String([0, 1, 2, 250, 255]), reply.Metadata);
    }

    [Fact]
    public async Task Unary_ReceivesAsciiAndBinaryTrailers()
    {
        var client = new TestServiceClient(_channel);
        var headers = new Metadata { { TestServer.EchoTrailerPrefix + "note", "kept" }, { TestServer.EchoTrailerPrefix + "data-bin", new byte[] { 9, 8, 7, 6 } } };

        using var call = client.EchoAsync(new EchoRequest { Message = "t" }, new CallOptions(headers));
        await call;
        var trailers = call.GetTrailers();

        Assert.Equal("kept", trailers.GetValue(TestServer.EchoTrailerPrefix + "note"));
        Assert.Equal(new byte[] { 9, 8, 7, 6 }, trailers.GetValueBytes(TestServer.EchoTrailerPrefix + "data-bin"));
        Assert.Null(trailers.Get(GrpcProtocol.StatusHeader));
    }

    [Fact]
    public async Task Unary_WhenFailingWithTrailers_ExceptionCarriesThem()
    {
        var client = new TestServiceClient(_channel);
        var headers = new Metadata { { TestServer.EchoTrailerPrefix + "reason", "quota" } };
        var request = new EchoRequest { FailWithCode = (int)StatusCode.ResourceExhausted, FailWithMessage = "slow down" };

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(request, new CallOptions(headers)).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, exception.StatusCode);
        Assert.Equal("slow down", exception.Status.Detail);
        Assert.Equal("quota", exception.Trailers.GetValue(TestServer.EchoTrailerPrefix + "reason"));
    }

    [Fact]
    public async Task Unary_WithNonAsciiErrorMessage_DecodesItExactly()
    {
        var client = new TestServiceClient(_channel);
        var request = new EchoRequest { FailWithCode = (int)StatusCode.FailedPrecondition, FailWithMessage = NonAsciiMessage };

        using var call = client.EchoAsync(request);
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, exception.StatusCode);
        Assert.Equal(NonAsciiMessage, exception.Status.Detail);
        Assert.Equal(new Status(StatusCode.FailedPrecondition, NonAsciiMessage), call.GetStatus());
    }

    [Fact]
    public async Task ServerStream_WithNonAsciiErrorAfterMessages_DecodesItExactly()
    {
        var client = new TestServiceClient(_channel);
        var request = new StreamRequest { Count = 1, FailWithCode = (int)StatusCode.NotFound, FailWithMessage = NonAsciiMessage };

        using var call = client.ServerStream(request);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.NotFound, exception.StatusCode);
        Assert.Equal(NonAsciiMessage, exception.Status.Detail);
    }

    [Fact]
    public async Task UnknownMethod_ThrowsUnimplemented()
    {
        var method = new Method<EchoRequest, EchoReply>(
            MethodType.Unary, "vehicles.testing.v1.TestService", "NoSuchMethod", Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoReply>());
        var invoker = _channel.CreateCallInvoker();

        using var call = invoker.AsyncUnaryCall(method, null, default, new EchoRequest());
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, exception.StatusCode);
        Assert.Equal(StatusCode.Unimplemented, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task UnknownService_ThrowsUnimplemented()
    {
        var method = new Method<EchoRequest, EchoReply>(
            MethodType.ServerStreaming, "vehicles.testing.v1.NoSuchService", "Echo", Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoReply>());
        var invoker = _channel.CreateCallInvoker();

        using var call = invoker.AsyncServerStreamingCall(method, null, default, new EchoRequest());
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        var headersException = await Assert.ThrowsAsync<RpcException>(() => call.ResponseHeadersAsync);

        Assert.Equal(StatusCode.Unimplemented, exception.StatusCode);
        Assert.Equal(StatusCode.Unimplemented, headersException.StatusCode);
    }

    [Fact]
    public void Metadata_WithInvalidKey_IsRejectedBeforeSending()
    {
        var exception = Record.Exception(() => new Metadata { { "x bad", "v" } });

        Assert.IsType<ArgumentException>(exception);
    }
}

public sealed class ResponseHeaderTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    [Fact]
    public async Task ServerStream_ResponseHeadersArriveBeforeMessagesWithBinaryValues()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);

        using var call = client.ServerStream(new StreamRequest { Message = Guid.NewGuid().ToString("N") });
        var headers = await call.ResponseHeadersAsync;
        var messages = await call.ResponseStream.ReadAllAsync().CountAsync();

        Assert.Equal("on", headers.GetValue("x-response-header"));
        Assert.Equal(new byte[] { 0, 1, 254, 255 }, headers.GetValueBytes("x-response-bin"));
        Assert.Equal(1, messages);
    }
}
