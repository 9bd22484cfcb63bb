namespace Vehicles.Grpc.InteropTests;

/// <summary>Message size limits and gzip, each way, with python3-grpcio.</summary>
[Collection(InteropTestGroup.Name)]
public sealed class MessageSizeAndCompressionInteropTests(InteropServerFixture fixture)
{
    private const int MegaByte = 1024 * 1024;

    [Fact]
    public async Task Unary_WhenRequestExceedsDefaultFourMegabyteLimit_ReturnsResourceExhausted()
    {
        var result = await fixture.Python.RunAsync("unary", new { request = new { message = "big", payload_size = 4 * MegaByte } });

        Assert.Equal("RESOURCE_EXHAUSTED", result.Str("code"));
    }

    [Fact]
    public async Task Unary_WithFiveMegabyteResponseAndRaisedClientLimit_ReceivesEveryByte()
    {
        var result = await fixture.Python.RunAsync(
            "unary", new { request = new { message = "big", response_size = 5 * MegaByte } }, maxReceiveMessageSize: 8 * MegaByte);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal(5 * MegaByte, result.GetProperty("reply").GetProperty("payload_length").GetInt32());
    }

    [Fact]
    public async Task Unary_WhenRequestExceedsConfiguredLimit_ReturnsResourceExhaustedAndSmallerOnesPass()
    {
        await using var server = await InteropServerFixture.StartServerAsync(grpc => grpc.MaxReceiveMessageSize = 1000);
        var python = new PythonGrpcClient(server.Address);

        var tooBig = await python.RunAsync("unary", new { request = new { message = "m", payload_size = 1000 } });
        var small = await python.RunAsync("unary", new { request = new { message = "m", payload_size = 900 } });

        Assert.Equal("RESOURCE_EXHAUSTED", tooBig.Str("code"));
        Assert.Equal("OK", small.Str("code"));
        Assert.Equal(900, small.GetProperty("reply").GetProperty("payload_length").GetInt32());
    }

    [Fact]
    public async Task ClientStream_WhenSecondMessageExceedsConfiguredLimit_ReturnsResourceExhausted()
    {
        await using var server = await InteropServerFixture.StartServerAsync(grpc => grpc.MaxReceiveMessageSize = 1000);
        var python = new PythonGrpcClient(server.Address);
        var parameters = new { requests = new object[] { new { message = "a" }, new { message = "b", payload_b64 = Convert.ToBase64String(new byte[2000]) } } };

        var result = await python.RunAsync("client_stream", parameters);

        Assert.Equal("RESOURCE_EXHAUSTED", result.Str("code"));
    }

    [Fact]
    public async Task Unary_WhenResponseExceedsConfiguredSendLimit_ReturnsResourceExhausted()
    {
        await using var server = await InteropServerFixture.StartServerAsync(grpc => grpc.MaxSendMessageSize = 1000);
        var python = new PythonGrpcClient(server.Address);

        var result = await python.RunAsync("unary", new { request = new { message = "m", response_size = 2000 } });

        Assert.Equal("RESOURCE_EXHAUSTED", result.Str("code"));
    }

    [Fact]
    public async Task Unary_WithGzipRequest_ServerInflatesItAndEchoesEveryByte()
    {
        var parameters = new { request = new { message = "zipped", payload_size = 100_000 }, gzip = true };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal("zipped", result.GetProperty("reply").Str("message"));
        Assert.Equal(100_000, result.GetProperty("reply").GetProperty("payload_length").GetInt32());
    }

    [Fact]
    public async Task ClientStream_WithGzipRequests_ServerInflatesEachMessage()
    {
        var parameters = new { requests = new[] { new { message = "x" }, new { message = "y" }, new { message = "z" } }, gzip = true };

        var result = await fixture.Python.RunAsync("client_stream", parameters);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal("x,y,z", result.GetProperty("reply").Str("message"));
    }

    [Fact]
    public async Task Unary_WhenGzipRequestInflatesBeyondLimit_ReturnsResourceExhausted()
    {
        // About 5 MB of a repeating pattern deflates to a few kilobytes: the wire size is small, the
        // decompressed size is not, and the server must stop at its limit instead of inflating it all.
        var parameters = new { request = new { message = "bomb", payload_size = 5 * MegaByte }, gzip = true };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("RESOURCE_EXHAUSTED", result.Str("code"));
    }

    [Fact]
    public async Task Unary_WhenGzipRequestInflatesBeyondDecompressionCap_ReturnsResourceExhaustedWhilePlainPasses()
    {
        // The same 200 kB message passes uncompressed (under the 4 MB wire limit) but not gzipped, where it
        // inflates past the 100 kB cap: the cap, not the wire size, decides.
        await using var server = await InteropServerFixture.StartServerAsync(grpc => grpc.MaxDecompressedMessageSize = 100_000);
        var python = new PythonGrpcClient(server.Address);

        var zipped = await python.RunAsync("unary", new { request = new { message = "m", payload_size = 200_000 }, gzip = true });
        var plain = await python.RunAsync("unary", new { request = new { message = "m", payload_size = 200_000 } });

        Assert.Equal("RESOURCE_EXHAUSTED", zipped.Str("code"));
        Assert.Equal("OK", plain.Str("code"));
    }

    [Fact]
    public async Task UnaryAndServerStream_WithGzipResponses_PythonInflatesThem()
    {
        await using var server = await InteropServerFixture.StartServerAsync(grpc => grpc.ResponseCompressionAlgorithm = "gzip");
        var python = new PythonGrpcClient(server.Address);

        var unary = await python.RunAsync("unary", new { request = new { message = "m", response_size = 200_000 } });
        var stream = await python.RunAsync("server_stream", new { request = new { message = "s", count = 3, response_size = 50_000 } });

        Assert.Equal("OK", unary.Str("code"));
        Assert.Equal(200_000, unary.GetProperty("reply").GetProperty("payload_length").GetInt32());
        Assert.Equal("OK", stream.Str("code"));
        Assert.Equal([50_000, 50_000, 50_000], stream.GetProperty("replies").EnumerateArray().Select(r => r.GetProperty("payload_length").GetInt32()));
    }
}
