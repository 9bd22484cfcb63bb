namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// Deadlines and cancellation from python3-grpcio: the client sees DEADLINE_EXCEEDED or CANCELLED, and the
/// server handler's cancellation token fires (observed with <see cref="CallProbe"/>).
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class DeadlineAndCancellationInteropTests(InteropServerFixture fixture)
{
    [Fact]
    public async Task Unary_WhenHandlerOutlivesDeadline_ReturnsDeadlineExceededAndCancelsHandler()
    {
        var callId = Guid.NewGuid().ToString("N");
        var parameters = new
        {
            request = new { message = "slow", delay_ms = 30_000 },
            timeout = 0.5,
            metadata = new[] { new[] { CallProbe.CallIdHeader, callId } },
        };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("DEADLINE_EXCEEDED", result.Str("code"));
        var call = await fixture.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
        Assert.NotEqual("completed", call.Outcome);
    }

    [Fact]
    public async Task ServerStream_WhenDeadlinePassesMidStream_ReturnsDeadlineExceededAfterSomeReplies()
    {
        var callId = Guid.NewGuid().ToString("N");
        var parameters = new
        {
            request = new { message = "tick", count = 1000, delay_ms = 100 },
            timeout = 2.0,
            metadata = new[] { new[] { CallProbe.CallIdHeader, callId } },
        };

        var result = await fixture.Python.RunAsync("server_stream", parameters);

        Assert.Equal("DEADLINE_EXCEEDED", result.Str("code"));
        Assert.InRange(result.GetProperty("replies").GetArrayLength(), 1, 999);
        var call = await fixture.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
    }

    [Fact]
    public async Task ServerStream_WhenPythonCancelsAfterTwoReplies_HandlerTokenFiresAndPythonSeesCancelled()
    {
        var callId = Guid.NewGuid().ToString("N");
        var parameters = new
        {
            request = new { message = "tick", count = 1000, delay_ms = 50 },
            cancel_after = 2,
            metadata = new[] { new[] { CallProbe.CallIdHeader, callId } },
        };

        var result = await fixture.Python.RunAsync("cancel_server_stream", parameters);

        Assert.Equal("CANCELLED", result.Str("code"));
        Assert.Equal([1, 2], result.GetProperty("received").EnumerateArray().Select(e => e.GetInt32()));
        var call = await fixture.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
        Assert.NotEqual("completed", call.Outcome);
    }

    [Fact]
    public async Task Unary_WhenPythonCancelsWhileHandlerRuns_HandlerTokenFiresAndServerStaysHealthy()
    {
        var callId = Guid.NewGuid().ToString("N");
        var parameters = new
        {
            request = new { message = "slow", delay_ms = 30_000 },
            metadata = new[] { new[] { CallProbe.CallIdHeader, callId } },
        };
        await using var run = fixture.Python.Start("cancel_unary", parameters);
        Assert.Equal("started", (await run.ReadLineAsync()).Str("event"));
        await fixture.Probe.WaitForAsync(callId, _ => true, "handler started");

        await run.SendLineAsync("cancel");
        var result = await run.ResultAsync();

        Assert.Equal("CANCELLED", result.Str("code"));
        var call = await fixture.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.True(call.Cancelled);
        var next = await fixture.Python.RunAsync("unary", new { request = new { message = "after" } });
        Assert.Equal("after", next.GetProperty("reply").Str("message"));
    }

    [Fact]
    public async Task Unary_WithGenerousDeadline_CompletesNormallyWithoutCancellation()
    {
        var callId = Guid.NewGuid().ToString("N");
        var parameters = new
        {
            request = new { message = "quick", delay_ms = 10 },
            timeout = 10.0,
            metadata = new[] { new[] { CallProbe.CallIdHeader, callId } },
        };

        var result = await fixture.Python.RunAsync("unary", parameters);

        Assert.Equal("OK", result.Str("code"));
        var call = await fixture.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended");
        Assert.Equal("completed", call.Outcome);
        Assert.False(call.Cancelled);
    }
}
