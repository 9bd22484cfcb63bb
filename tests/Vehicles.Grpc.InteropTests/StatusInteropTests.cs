namespace Vehicles.Grpc.InteropTests;

/// <summary>Status codes, non-ASCII status messages and trailers as python3-grpcio decodes them.</summary>
[Collection(InteropTestGroup.Name)]
public sealed class StatusInteropTests(InteropServerFixture fixture)
{
    private const string GermanMessage = "Fahrzeug nicht gefunden: Größe ✓";

    [Theory]
    [InlineData(5, "NOT_FOUND")]
    [InlineData(7, "PERMISSION_DENIED")]
    [InlineData(9, "FAILED_PRECONDITION")]
    [InlineData(14, "UNAVAILABLE")]
    public async Task Unary_WhenHandlerFailsWithNonAsciiMessage_PythonDecodesCodeAndMessage(int code, string codeName)
    {
        var parameters = new { request = new { fail_with_code = code, fail_with_message = GermanMessage } };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal(codeName, result.Str("code"));
        Assert.Equal(GermanMessage, result.Str("details"));
    }

    [Fact]
    public async Task Unary_WhenMessageHoldsPercentAndControlCharacters_PythonDecodesThemExactly()
    {
        const string Message = "100% kaputt\tZeile 2\nEnde 😀";
        var parameters = new { request = new { fail_with_code = 3, fail_with_message = Message } };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("INVALID_ARGUMENT", result.Str("code"));
        Assert.Equal(Message, result.Str("details"));
    }

    [Fact]
    public async Task Unary_WhenHandlerThrows_ReturnsUnknownWithoutTheExceptionMessage()
    {
        var result = await fixture.Python.RunAsync("unary", new { request = new { message = "x", throw_exception = true } });

        Assert.Equal("UNKNOWN", result.Str("code"));
        Assert.DoesNotContain(Testing.TestServer.SecretExceptionMessage, result.Str("details"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerStream_WhenFailingAfterTwoReplies_DeliversBothRepliesThenTheStatus()
    {
        var parameters = new
        {
            request = new { message = "m", count = 2, fail_with_code = 10, fail_with_message = "Überholvorgang abgebrochen ✗" },
        };

        var result = await fixture.Python.RunAsync("server_stream", parameters);

        Assert.Equal("ABORTED", result.Str("code"));
        Assert.Equal("Überholvorgang abgebrochen ✗", result.Str("details"));
        Assert.Equal([1, 2], result.GetProperty("replies").EnumerateArray().Select(r => r.GetProperty("count").GetInt32()));
    }

    [Fact]
    public async Task ClientStream_WhenSecondMessageFails_ReturnsItsStatus()
    {
        var parameters = new
        {
            requests = new object[] { new { message = "a" }, new { message = "b", fail_with_code = 6, fail_with_message = "schon da" } },
        };

        var result = await fixture.Python.RunAsync("client_stream", parameters);

        Assert.Equal("ALREADY_EXISTS", result.Str("code"));
        Assert.Equal("schon da", result.Str("details"));
    }
}
