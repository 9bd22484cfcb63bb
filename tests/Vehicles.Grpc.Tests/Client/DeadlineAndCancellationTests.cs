using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class DeadlineAndCancellationTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    private static string NewId(string prefix = "") => prefix + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Unary_WhenClientDeadlinePasses_ThrowsDeadlineExceededAndServerHandlerIsCancelled()
    {
        // The client's clock is fake and the grpc-timeout it sends is an hour: only the client's own timer can end the call.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { TimeProvider = clock });
        var client = new TestServiceClient(channel);
        var id = NewId(ProbeService.WaitForCancellation);

        using var call = client.EchoAsync(new EchoRequest { Message = id }, new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddHours(1)));
        var serverCall = await fixture.Probe.WaitForCallAsync(id);
        clock.Advance(TimeSpan.FromHours(1));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        await serverCall.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(StatusCode.DeadlineExceeded, exception.StatusCode);
        Assert.Equal(StatusCode.DeadlineExceeded, call.GetStatus().StatusCode);
        Assert.Equal("3600000m", GetTimeout(serverCall));
    }

    [Fact]
    public async Task Unary_BeforeDeadline_SendsRemainingTimeAsGrpcTimeout()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { TimeProvider = clock });
        var client = new TestServiceClient(channel);
        var id = NewId();

        var reply = await client.EchoAsync(new EchoRequest { Message = id }, new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddSeconds(90)));
        var serverCall = await fixture.Probe.WaitForCallAsync(id);

        Assert.Equal(id, reply.Message);
        Assert.Equal("90000000u", GetTimeout(serverCall));
        Assert.Equal(0, clock.PendingTimers);
    }

    [Fact]
    public async Task Unary_WithDeadlineAlreadyPassed_FailsWithoutSending()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { TimeProvider = clock });
        var client = new TestServiceClient(channel);
        fixture.Connections.Reset();

        using var call = client.EchoAsync(new EchoRequest { Message = NewId() }, new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddSeconds(-1)));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, exception.StatusCode);
        Assert.Equal(0, fixture.Connections.Count);
    }

    [Fact]
    public async Task ServerStream_WhenCancelledMidStream_ThrowsCancelledAndServerHandlerIsCancelled()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        var id = NewId(ProbeService.WaitForCancellation);
        using var cts = new CancellationTokenSource();

        using var call = client.ServerStream(new StreamRequest { Message = id }, new CallOptions(cancellationToken: cts.Token));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var serverCall = await fixture.Probe.WaitForCallAsync(id);
        var pendingRead = call.ResponseStream.MoveNext(CancellationToken.None);
        await cts.CancelAsync();
        var exception = await Assert.ThrowsAsync<RpcException>(() => pendingRead);
        await serverCall.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(StatusCode.Cancelled, exception.StatusCode);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ServerStream_WhenReadTokenCancelled_CancelsTheCall()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        var id = NewId(ProbeService.WaitForCancellation);
        using var cts = new CancellationTokenSource();

        using var call = client.ServerStream(new StreamRequest { Message = id });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var serverCall = await fixture.Probe.WaitForCallAsync(id);
        var pendingRead = call.ResponseStream.MoveNext(cts.Token);
        await cts.CancelAsync();
        var exception = await Assert.ThrowsAsync<RpcException>(() => pendingRead);
        await serverCall.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(StatusCode.Cancelled, exception.StatusCode);
    }

    [Fact]
    public async Task ServerStream_WhenDisposedMidStream_ServerHandlerIsCancelled()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        var id = NewId(ProbeService.WaitForCancellation);

        var call = client.ServerStream(new StreamRequest { Message = id });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var serverCall = await fixture.Probe.WaitForCallAsync(id);
        call.Dispose();
        await serverCall.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.Cancelled, exception.StatusCode);
    }

    [Fact]
    public async Task Duplex_WhenCancelled_ServerHandlerIsCancelledAndWritesFail()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        var id = NewId();
        using var cts = new CancellationTokenSource();

        using var call = client.Duplex(new CallOptions(cancellationToken: cts.Token));
        await call.RequestStream.WriteAsync(new EchoRequest { Message = id });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var serverCall = await fixture.Probe.WaitForCallAsync(id);
        await cts.CancelAsync();
        await serverCall.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var writeException = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new EchoRequest { Message = "late" }));
        var readException = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.Cancelled, writeException.StatusCode);
        Assert.Equal(StatusCode.Cancelled, readException.StatusCode);
    }

    [Fact]
    public async Task Unary_WithTokenAlreadyCancelled_FailsWithCancelled()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);

        using var call = client.EchoAsync(new EchoRequest { Message = NewId() }, new CallOptions(cancellationToken: new CancellationToken(canceled: true)));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.Cancelled, exception.StatusCode);
    }

    private static string? GetTimeout(ProbeCall call) => call.GrpcTimeout;
}

public sealed class ServerDeadlineTests(TestServiceFixture fixture) : IClassFixture<TestServiceFixture>
{
    [Fact]
    public async Task Unary_WhenServerEnforcesDeadline_ThrowsDeadlineExceeded()
    {
        // The client's clock never moves, so its own timer never fires: the status has to come from the server.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { TimeProvider = clock });
        var client = new TestServiceClient(channel);

        using var call = client.EchoAsync(new EchoRequest { Message = "slow", DelayMs = 60_000 }, new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddMilliseconds(200)));
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, exception.StatusCode);
    }
}
