using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class ConnectionReuseTests(TestServiceFixture fixture) : IClassFixture<TestServiceFixture>
{
    [Fact]
    public async Task ManyCalls_SequentialAndConcurrent_ShareOneConnection()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        await client.EchoAsync(new EchoRequest { Message = "warm-up" });
        fixture.Connections.Reset();

        for (var i = 0; i < 50; i++)
        {
            await client.EchoAsync(new EchoRequest { Message = "s" });
        }

        var concurrent = Enumerable.Range(0, 50).Select(async _ => (await client.EchoAsync(new EchoRequest { Message = "c" })).Message);
        var replies = await Task.WhenAll(concurrent);
        using var stream = client.ServerStream(new StreamRequest { Count = 3 });
        var streamed = await stream.ResponseStream.ReadAllAsync().CountAsync();

        Assert.All(replies, r => Assert.Equal("c", r));
        Assert.Equal(3, streamed);
        Assert.Equal(1, fixture.Connections.Count);
    }
}

public sealed class ChannelTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    [Fact]
    public async Task Credentials_AddBearerTokenToEveryCall()
    {
        var calls = 0;
        var credentials = CallCredentials.FromInterceptor((context, metadata) =>
        {
            Interlocked.Increment(ref calls);
            metadata.Add("authorization", "Bearer token-" + context.MethodName);
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { Credentials = credentials, UnsafeUseInsecureChannelCallCredentials = true });
        var client = new TestServiceClient(channel);

        var first = await client.EchoAsync(new EchoRequest { Message = Guid.NewGuid().ToString("N") });
        var second = await client.EchoAsync(new EchoRequest { Message = Guid.NewGuid().ToString("N") });

        Assert.Equal(["Bearer token-Echo"], first.Metadata);
        Assert.Equal(["Bearer token-Echo"], second.Metadata);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Credentials_WhenInterceptorThrowsRpcException_CallFailsWithItsStatus()
    {
        var credentials = CallCredentials.FromInterceptor((_, _) => throw new RpcException(StatusCode.Unauthenticated, "no token"));
        using var channel = GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { Credentials = credentials, UnsafeUseInsecureChannelCallCredentials = true });
        var client = new TestServiceClient(channel);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(new EchoRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, exception.StatusCode);
        Assert.Equal("no token", exception.Status.Detail);
    }

    [Fact]
    public void Credentials_OnInsecureChannelWithoutOptIn_AreRefused()
    {
        var credentials = CallCredentials.FromInterceptor((_, _) => Task.CompletedTask);

        var exception = Record.Exception(() => GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { Credentials = credentials }));

        Assert.IsType<InvalidOperationException>(exception);
    }

    [Theory]
    [InlineData(ProbeFixture.UnavailablePath, StatusCode.Unavailable)]
    [InlineData(ProbeFixture.PlainTextPath, StatusCode.Internal)]
    [InlineData(ProbeFixture.MissingStatusPath, StatusCode.Unknown)]
    [InlineData(ProbeFixture.TrailersOnlyOkPath, StatusCode.Internal)]
    [InlineData(ProbeFixture.TruncatedPath, StatusCode.Internal)]
    [InlineData("/raw.Service/NotMappedAtAll", StatusCode.Unimplemented)]
    public async Task Call_ToEndpointThatIsNotGrpc_MapsToStatus(string path, StatusCode expected)
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var serviceAndMethod = path.TrimStart('/').Split('/');
        var method = new Method<EchoRequest, EchoReply>(
            MethodType.Unary, serviceAndMethod[0], serviceAndMethod[1], Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoReply>());

        using var call = channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, new EchoRequest());
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(expected, exception.StatusCode);
    }

    [Fact]
    public async Task Unary_WhenResponseEndsInsideAMessage_ThrowsInternalIncompleteMessage()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var method = new Method<EchoRequest, EchoReply>(
            MethodType.Unary, "raw.Service", "Truncated", Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoReply>());

        var exception = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, new EchoRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Internal, exception.StatusCode);
        Assert.Equal("Incomplete message: the response ended inside a message.", exception.Status.Detail);
    }

    [Fact]
    public async Task Call_ToClosedPort_ThrowsUnavailable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new TestServiceClient(channel);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(new EchoRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, exception.StatusCode);
        Assert.NotNull(exception.Status.DebugException);
    }

    [Fact]
    public async Task Call_AfterChannelDisposed_ThrowsObjectDisposed()
    {
        var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        channel.Dispose();

        var exception = Record.Exception(() => client.EchoAsync(new EchoRequest()));

        Assert.IsType<ObjectDisposedException>(exception);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Dispose_WithCallInProgress_EndsItWithCancelledAndServerHandlerIsCancelled()
    {
        var channel = GrpcChannel.ForAddress(fixture.Address);
        var client = new TestServiceClient(channel);
        var id = ProbeService.WaitForCancellation + Guid.NewGuid().ToString("N");

        using var call = client.ServerStream(new StreamRequest { Message = id });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var serverCall = await fixture.Probe.WaitForCallAsync(id);
        channel.Dispose();
        var exception = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        await serverCall.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(StatusCode.Cancelled, exception.StatusCode);
    }

    [Fact]
    public async Task ServerStream_TrailersOnlyOk_EndsWithoutMessages()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var method = new Method<EchoRequest, EchoReply>(
            MethodType.ServerStreaming, "raw.Service", "TrailersOnlyOk", Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoReply>());

        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(method, null, default, new EchoRequest());
        var any = await call.ResponseStream.MoveNext(CancellationToken.None);

        Assert.False(any);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public void ForAddress_WithUnsupportedCompression_Throws()
    {
        var exception = Record.Exception(() => GrpcChannel.ForAddress(fixture.Address, new GrpcChannelOptions { SendCompression = "br" }));

        Assert.IsType<ArgumentException>(exception);
    }
}

public sealed class TlsChannelTests : IAsyncLifetime
{
    private readonly X509Certificate2 _certificate = TestCertificates.CreateSelfSigned();
    private TestServer? _server;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o => o.Certificate = _certificate);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificate.Dispose();
    }

    [Fact]
    public async Task Https_WithPinnedServerCertificate_CallsOverTls()
    {
        var thumbprint = _certificate.GetCertHashString();
        using var channel = GrpcChannel.ForAddress(_server!.Address, new GrpcChannelOptions
        {
            ServerCertificateValidation = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == thumbprint,
        });
        var client = new TestServiceClient(channel);

        var reply = await client.EchoAsync(new EchoRequest { Message = "secure" });

        Assert.Equal(Uri.UriSchemeHttps, _server.Address.Scheme);
        Assert.Equal("secure", reply.Message);
    }

    [Fact]
    public async Task Https_WhenServerCertificateIsNotTrusted_ThrowsUnavailable()
    {
        using var channel = GrpcChannel.ForAddress(_server!.Address);
        var client = new TestServiceClient(channel);

        var exception = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(new EchoRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, exception.StatusCode);
    }
}
