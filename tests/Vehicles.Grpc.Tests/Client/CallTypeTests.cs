using Google.Protobuf;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class CallTypeTests(TestServiceFixture fixture) : IClassFixture<TestServiceFixture>, IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Address);

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task Unary_WhenAwaited_ReturnsEchoAndOkStatus()
    {
        var client = new TestServiceClient(_channel);
        var request = new EchoRequest { Message = "hello", Payload = ByteString.CopyFrom(1, 2, 3) };

        using var call = client.EchoAsync(request);
        var reply = await call;

        Assert.Equal("hello", reply.Message);
        Assert.Equal(new byte[] { 1, 2, 3 }, reply.Payload.ToByteArray());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Empty(call.GetTrailers());
    }

    [Fact]
    public async Task Unary_WithEmptyMessages_RoundTrips()
    {
        var client = new TestServiceClient(_channel);

        var reply = await client.EchoAsync(new EchoRequest());

        Assert.Equal(new EchoReply(), reply);
    }

    [Fact]
    public void Unary_BeforeItEnds_GetStatusThrows()
    {
        var client = new TestServiceClient(_channel);
        using var call = client.EchoAsync(new EchoRequest { Message = "x", DelayMs = 10_000 });

        var exception = Record.Exception(() => call.GetStatus());

        Assert.IsType<InvalidOperationException>(exception);
    }

    [Fact]
    public async Task ServerStream_ReturnsEveryReplyInOrder()
    {
        var client = new TestServiceClient(_channel);

        using var call = client.ServerStream(new StreamRequest { Message = "tick", Count = 5 });
        var counts = new List<long>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal("tick", reply.Message);
            counts.Add(reply.Count);
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L], counts);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    [Fact]
    public async Task ServerStream_WithNoReplies_EndsWithOk()
    {
        var client = new TestServiceClient(_channel);

        using var call = client.ServerStream(new StreamRequest { Message = "none", Count = 0 });
        var any = await call.ResponseStream.MoveNext(CancellationToken.None);

        Assert.False(any);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ServerStream_WhenServerFailsAfterReplies_DeliversRepliesThenThrowsStatus()
    {
        var client = new TestServiceClient(_channel);
        var request = new StreamRequest { Message = "m", Count = 2, FailWithCode = (int)StatusCode.Aborted, FailWithMessage = "conflict" };

        using var call = client.ServerStream(request);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.Aborted, exception.StatusCode);
        Assert.Equal("conflict", exception.Status.Detail);
        Assert.Equal(StatusCode.Aborted, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStream_AfterHalfClose_ReplyJoinsEveryMessage()
    {
        var client = new TestServiceClient(_channel);

        using var call = client.ClientStream();
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = text });
        }

        var beforeHalfClose = call.ResponseAsync.IsCompleted;
        await call.RequestStream.CompleteAsync();
        var reply = await call;

        Assert.False(beforeHalfClose);
        Assert.Equal("a,b,c", reply.Message);
        Assert.Equal(3, reply.Count);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStream_WithNoMessages_RepliesWithZeroCount()
    {
        var client = new TestServiceClient(_channel);

        using var call = client.ClientStream();
        await call.RequestStream.CompleteAsync();
        var reply = await call.ResponseAsync;

        Assert.Equal(string.Empty, reply.Message);
        Assert.Equal(0, reply.Count);
    }

    [Fact]
    public async Task ClientStream_WriteAfterComplete_ThrowsInvalidOperation()
    {
        var client = new TestServiceClient(_channel);
        using var call = client.ClientStream();
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "only" });
        await call.RequestStream.CompleteAsync();

        var exception = await Record.ExceptionAsync(() => call.RequestStream.WriteAsync(new EchoRequest { Message = "late" }));
        var reply = await call;

        Assert.IsType<InvalidOperationException>(exception);
        Assert.Equal("only", reply.Message);
        Assert.Equal(1, reply.Count);
    }

    [Fact]
    public async Task ClientStream_WhenServerFails_ResponseThrowsStatus()
    {
        var client = new TestServiceClient(_channel);

        using var call = client.ClientStream();
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "bad", FailWithCode = (int)StatusCode.InvalidArgument, FailWithMessage = "no" });
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        Assert.Equal("no", exception.Status.Detail);
    }

    [Fact]
    public async Task Duplex_RepliesToEachMessageBeforeTheRequestStreamEnds()
    {
        var client = new TestServiceClient(_channel);

        using var call = client.Duplex();
        var replies = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = "ping" + i });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            replies.Add(call.ResponseStream.Current.Message + "#" + call.ResponseStream.Current.Count);
        }

        await call.RequestStream.CompleteAsync();
        var more = await call.ResponseStream.MoveNext(CancellationToken.None);

        Assert.Equal(["ping0#1", "ping1#2", "ping2#3"], replies);
        Assert.False(more);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Duplex_ManyMessagesWrittenAheadOfReads_AllArriveInOrder()
    {
        var client = new TestServiceClient(_channel);
        const int Count = 500;

        using var call = client.Duplex();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
            {
                await call.RequestStream.WriteAsync(new EchoRequest { Message = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Payload = ByteString.CopyFrom(new byte[1000]) });
            }

            await call.RequestStream.CompleteAsync();
        });
        var received = new List<string>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync())
        {
            received.Add(reply.Message);
        }

        await writer;

        Assert.Equal(Enumerable.Range(0, Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), received);
    }

    [Fact]
    public async Task Unary_HandlerThrows_ClientSeesUnknownWithoutInternals()
    {
        var client = new TestServiceClient(_channel);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(new EchoRequest { ThrowException = true }).ResponseAsync);

        Assert.Equal(StatusCode.Unknown, exception.StatusCode);
        Assert.DoesNotContain(Vehicles.Grpc.Testing.TestServer.SecretExceptionMessage, exception.Status.Detail, StringComparison.Ordinal);
    }
}
