namespace Vehicles.Grpc.InteropTests;

/// <summary>The four kinds of call, made by python3-grpcio (C core) against our server.</summary>
[Collection(InteropTestGroup.Name)]
public sealed class CallTypeInteropTests(InteropServerFixture fixture)
{
    private static readonly string[] _pingPongMessages = ["one", "two", "three", "four"];

    [Fact]
    public async Task Unary_WithMessageAndPayload_EchoesBoth()
    {
        var parameters = new { request = new { message = "hello WVW-000042", payload_b64 = "AAH/fw==" } };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal("hello WVW-000042", result.GetProperty("reply").Str("message"));
        Assert.Equal("AAH/fw==", result.GetProperty("reply").Str("payload_b64"));
    }

    [Fact]
    public async Task Unary_WithMegabytePayload_RoundTripsEveryByte()
    {
        const int Size = 1024 * 1024;
        var parameters = new { request = new { message = "big", payload_size = Size } };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal(Size, result.GetProperty("reply").GetProperty("payload_length").GetInt32());
    }

    [Fact]
    public async Task Unary_HundredConcurrentCallsOnOneChannel_AllSucceedWithTheirOwnReply()
    {
        var result = await fixture.Python.RunAsync("unary_concurrent", new { count = 100 });

        Assert.Equal(["OK"], result.Strings("codes"));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"m{i}"), result.Strings("messages"));
    }

    [Fact]
    public async Task ServerStream_WithCountFive_ReceivesFiveNumberedRepliesThenOk()
    {
        var parameters = new { request = new { message = "tick", count = 5, response_size = 10 } };

        var result = await fixture.Python.RunAsync("server_stream", parameters);

        Assert.Equal("OK", result.Str("code"));
        var replies = result.GetProperty("replies").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3, 4, 5], replies.Select(r => r.GetProperty("count").GetInt32()));
        Assert.All(replies, r => Assert.Equal("tick", r.Str("message")));
        Assert.All(replies, r => Assert.Equal(10, r.GetProperty("payload_length").GetInt32()));
    }

    [Fact]
    public async Task ServerStream_WithCountZero_EndsOkWithoutReplies()
    {
        var result = await fixture.Python.RunAsync("server_stream", new { request = new { message = "none", count = 0 } });

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal(0, result.GetProperty("replies").GetArrayLength());
    }

    [Fact]
    public async Task ClientStream_WithThreeMessages_ReplyJoinsThemAndCountsThree()
    {
        var parameters = new { requests = new[] { new { message = "a" }, new { message = "b" }, new { message = "c" } } };

        var result = await fixture.Python.RunAsync("client_stream", parameters);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal("a,b,c", result.GetProperty("reply").Str("message"));
        Assert.Equal(3, result.GetProperty("reply").GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task ClientStream_WithNoMessages_RepliesEmptyWithCountZero()
    {
        var result = await fixture.Python.RunAsync("client_stream", new { requests = Array.Empty<object>() });

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal(string.Empty, result.GetProperty("reply").Str("message"));
        Assert.Equal(0, result.GetProperty("reply").GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Duplex_PingPong_RepliesToEachMessageBeforeTheNextIsSent()
    {
        // The script sends each message only after the previous reply arrived, so this proves the server
        // answers while the request stream is still open.
        var result = await fixture.Python.RunAsync("duplex", new { messages = _pingPongMessages });

        Assert.Equal("OK", result.Str("code"));
        var replies = result.GetProperty("replies").EnumerateArray().ToList();
        Assert.Equal(["one", "two", "three", "four"], replies.Select(r => r.Str("message")));
        Assert.Equal([1, 2, 3, 4], replies.Select(r => r.GetProperty("count").GetInt32()));
    }

    [Fact]
    public async Task UnknownMethod_OfKnownService_ReturnsUnimplemented()
    {
        var result = await fixture.Python.RunAsync("unimplemented", new { path = "/vehicles.testing.v1.TestService/NoSuchMethod" });

        Assert.Equal("UNIMPLEMENTED", result.Str("code"));
    }

    [Fact]
    public async Task UnknownService_ReturnsUnimplemented()
    {
        var result = await fixture.Python.RunAsync("unimplemented", new { path = "/vehicles.nowhere.v1.Nothing/Call" });

        Assert.Equal("UNIMPLEMENTED", result.Str("code"));
    }
}
