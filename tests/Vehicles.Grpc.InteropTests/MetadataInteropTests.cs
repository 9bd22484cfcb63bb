namespace Vehicles.Grpc.InteropTests;

/// <summary>Custom metadata, text and -bin, both ways between python3-grpcio and our server.</summary>
[Collection(InteropTestGroup.Name)]
public sealed class MetadataInteropTests(InteropServerFixture fixture)
{
    [Fact]
    public async Task Unary_WithTextAndBinaryHeaders_HandlerSeesBothDecoded()
    {
        var parameters = new
        {
            request = new { message = "m", echo_metadata = true },
            metadata = new[] { new[] { "x-vin", "WVW-000042" }, new[] { "x-raw-bin", "AAH//g==" } },
        };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal(["x-vin=WVW-000042", "x-raw-bin=AAH//g=="], result.GetProperty("reply").Strings("metadata"));
    }

    [Fact]
    public async Task Unary_WithEchoHeaders_PythonReceivesThemAsTrailers()
    {
        var parameters = new
        {
            request = new { message = "m" },
            metadata = new[] { new[] { "x-echo-trace", "trace-1" }, new[] { "x-echo-blob-bin", "AP8BgA==" } },
        };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("OK", result.Str("code"));
        var trailers = result.Pairs("trailing_metadata");
        Assert.Contains(("x-echo-trace", "trace-1"), trailers);
        Assert.Contains(("x-echo-blob-bin", "AP8BgA=="), trailers);
    }

    [Fact]
    public async Task Unary_WhenFailingWithEchoHeaders_PythonReceivesTrailersWithTheStatus()
    {
        var parameters = new
        {
            request = new { fail_with_code = 5, fail_with_message = "weg" },
            metadata = new[] { new[] { "x-echo-reason", "offline" }, new[] { "x-echo-state-bin", "AQID" } },
        };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("NOT_FOUND", result.Str("code"));
        var trailers = result.Pairs("trailing_metadata");
        Assert.Contains(("x-echo-reason", "offline"), trailers);
        Assert.Contains(("x-echo-state-bin", "AQID"), trailers);
    }

    [Fact]
    public async Task ServerStream_WithEchoHeaders_PythonReceivesThemAsTrailersAfterTheReplies()
    {
        var parameters = new
        {
            request = new { message = "m", count = 2 },
            metadata = new[] { new[] { "x-echo-trace", "stream-1" } },
        };

        var result = await fixture.Python.RunAsync("server_stream", parameters);

        Assert.Equal("OK", result.Str("code"));
        Assert.Equal(2, result.GetProperty("replies").GetArrayLength());
        Assert.Contains(("x-echo-trace", "stream-1"), result.Pairs("trailing_metadata"));
    }
}
