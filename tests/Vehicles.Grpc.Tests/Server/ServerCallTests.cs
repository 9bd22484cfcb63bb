using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Vehicles.Grpc.Server;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Server;

public sealed class ServerCallTests
{
    private const string ProbePath = "/vehicles.testing.v1.TestService/";

    private static Task<TestServer> StartProbeServerAsync(Probe probe, Action<TestServerOptions>? configure = null) =>
        TestServer.StartAsync(o =>
        {
            o.MapTestService = false;
            o.ConfigureServices = s => s.AddSingleton(probe);
            o.MapEndpoints = e => e.MapGrpcService<ProbeService>(TestServiceReflection.Descriptor.Services[0]);
            configure?.Invoke(o);
        });

    private static HttpRequestMessage EchoRequest(TestServer server, string message, string? timeout = null)
    {
        var request = RawGrpc.Request(server.Address, ProbePath + "Echo", RawGrpc.Frame(new EchoRequest { Message = message }));
        if (timeout is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        }

        return request;
    }

    [Fact]
    public async Task Deadline_WhenItPasses_ReturnsDeadlineExceededAndCancelsHandlerToken()
    {
        var probe = new Probe();
        var time = new FakeTimeProvider();
        await using var server = await StartProbeServerAsync(probe, o => o.TimeProvider = time);
        using var client = RawGrpc.CreateClient();

        var call = RawGrpc.SendAsync(client, EchoRequest(server, "wait-for-cancel", "1S"));
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => time.PendingTimers >= 1, "the deadline timer is armed");
        time.Advance(TimeSpan.FromSeconds(1));
        var response = await call.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((int)StatusCode.DeadlineExceeded, response.GrpcStatus);
        Assert.True(response.TrailersOnly);
        await probe.HandlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Deadline_WhenHandlerIgnoresCancellation_StillCompletesCallAtOnce()
    {
        var probe = new Probe();
        var time = new FakeTimeProvider();
        await using var server = await StartProbeServerAsync(probe, o => o.TimeProvider = time);
        using var client = RawGrpc.CreateClient();

        var call = RawGrpc.SendAsync(client, EchoRequest(server, "ignore-cancel", "500m"));
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => time.PendingTimers >= 1, "the deadline timer is armed");
        time.Advance(TimeSpan.FromMilliseconds(500));
        var response = await call.WaitAsync(TimeSpan.FromSeconds(10));
        var handlerStillRunning = !probe.HandlerEnded.Task.IsCompleted;
        probe.Release.SetResult();

        Assert.Equal((int)StatusCode.DeadlineExceeded, response.GrpcStatus);
        Assert.Empty(response.Messages);
        Assert.True(handlerStillRunning);
        await probe.HandlerEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Deadline_SetByClient_IsVisibleInContext()
    {
        var probe = new Probe();
        var time = new FakeTimeProvider();
        await using var server = await StartProbeServerAsync(probe, o => o.TimeProvider = time);
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, EchoRequest(server, "context", "5S"));

        var expected = (time.GetUtcNow() + TimeSpan.FromSeconds(5)).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("deadline=" + expected, response.Message(0, EchoReply.Parser).Metadata);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("1H")]
    public async Task ClientCancellation_CancelsHandlerToken(string? timeout)
    {
        var probe = new Probe();
        await using var server = await StartProbeServerAsync(probe);
        using var client = RawGrpc.CreateClient();
        using var cts = new CancellationTokenSource();

        var call = RawGrpc.SendAsync(client, EchoRequest(server, "wait-for-cancel", timeout), cts.Token);
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await probe.HandlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ServerStreaming_ClientCancellation_CancelsHandlerToken()
    {
        var probe = new Probe();
        await using var server = await StartProbeServerAsync(probe);
        using var client = RawGrpc.CreateClient();
        using var cts = new CancellationTokenSource();
        var request = RawGrpc.Request(server.Address, ProbePath + "ServerStream", RawGrpc.Frame(new StreamRequest { Count = 1, Message = "wait-for-cancel" }));

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        var first = await RawGrpc.ReadFrameAsync(body, cts.Token);
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Disposing an unfinished response makes HttpClient reset the stream (RST_STREAM CANCEL).
        await body.DisposeAsync();
        response.Dispose();

        Assert.NotNull(first);
        await probe.HandlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Method_WithoutHandler_ReturnsUnimplemented()
    {
        await using var server = await StartProbeServerAsync(new Probe());
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, RawGrpc.Request(server.Address, ProbePath + "ClientStream", RawGrpc.EchoFrames("a")));

        Assert.Equal((int)StatusCode.Unimplemented, response.GrpcStatus);
        Assert.Equal("Method is unimplemented.", response.GrpcMessage);
    }

    [Fact]
    public async Task MapGrpcService_WithWrongHandlerSignature_FailsAtStartupNamingTheSignature()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(o =>
        {
            o.MapTestService = false;
            o.MapEndpoints = e => e.MapGrpcService<WrongSignatureService>(TestServiceReflection.Descriptor.Services[0]);
        }));

        Assert.Contains("WrongSignatureService.Echo", error.Message, StringComparison.Ordinal);
        Assert.Contains("Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, new[] { "created", "call", "disposed", "created", "call", "disposed" })]
    [InlineData(ServiceLifetime.Singleton, new[] { "created", "call", "call" })]
    [InlineData(ServiceLifetime.Scoped, new[] { "created", "call", "created", "call" })]
    public async Task ServiceInstances_FollowTheirRegistration(ServiceLifetime? lifetime, string[] expected)
    {
        var probe = new Probe();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.MapTestService = false;
            o.ConfigureServices = s =>
            {
                s.AddSingleton(probe);
                if (lifetime is { } value)
                {
                    s.Add(new Microsoft.Extensions.DependencyInjection.ServiceDescriptor(typeof(LifetimeService), typeof(LifetimeService), value));
                }
            };
            o.MapEndpoints = e => e.MapGrpcService<LifetimeService>(TestServiceReflection.Descriptor.Services[0]);
        });
        using var client = RawGrpc.CreateClient();

        for (var i = 0; i < 2; i++)
        {
            var response = await RawGrpc.SendAsync(client, EchoRequest(server, "x"));
            Assert.Equal(0, response.GrpcStatus);
        }

        // Scoped instances are disposed with the request scope, after the response; count only what is certain.
        Assert.Equal(expected, probe.Snapshot().Where(e => lifetime != ServiceLifetime.Scoped || e != "disposed"));
    }

    [Fact]
    public async Task Interceptors_RunInRegistrationOrder_AroundTheHandler()
    {
        var probe = new Probe();
        await using var server = await StartProbeServerAsync(probe, o => o.ConfigureGrpc = g =>
        {
            g.Interceptors.Add<FirstInterceptor>();
            g.Interceptors.Add<SecondInterceptor>();
        });
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, EchoRequest(server, "context"));

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal(["first-before", "second-before", "handler", "second-after", "first-after"], probe.Snapshot());
        Assert.Equal("second", response.Trailer("x-user-state"));
    }

    [Fact]
    public async Task Context_ExposesMethodHostPeerAndHttpContext()
    {
        await using var server = await StartProbeServerAsync(new Probe());
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, EchoRequest(server, "context"));

        var reply = response.Message(0, EchoReply.Parser);
        Assert.Equal(ProbePath + "Echo", reply.Message);
        Assert.Contains("host=127.0.0.1:" + server.Port, reply.Metadata);
        Assert.Contains(reply.Metadata, m => m.StartsWith("peer=ipv4:127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains("deadline=none", reply.Metadata);
        Assert.Contains("http=HTTP/2", reply.Metadata);
    }

    [Fact]
    public async Task WriteResponseHeadersAsync_SendsMetadataInResponseHeaders()
    {
        await using var server = await StartProbeServerAsync(new Probe());
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, EchoRequest(server, "headers"));

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal("h", response.Headers.GetValues("x-header").Single());
        Assert.Equal([1, 2, 3], Convert.FromBase64String(response.Headers.GetValues("x-header-bin").Single()));
    }

    [Fact]
    public async Task Status_SetByHandler_EndsTheCallWithIt()
    {
        await using var server = await StartProbeServerAsync(new Probe());
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, EchoRequest(server, "status"));

        Assert.Equal((int)StatusCode.FailedPrecondition, response.GrpcStatus);
        Assert.Equal("set by handler", response.GrpcMessage);
    }

    [Fact]
    public async Task StreamWriter_AfterCallCompleted_ThrowsInvalidOperation()
    {
        var probe = new Probe();
        await using var server = await StartProbeServerAsync(probe);
        using var client = RawGrpc.CreateClient();
        var response = await RawGrpc.SendAsync(client, RawGrpc.Request(server.Address, ProbePath + "ServerStream", RawGrpc.Frame(new StreamRequest { Count = 2 })));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => probe.Writer!.WriteAsync(new EchoReply()));

        Assert.Equal(2, response.Messages.Count);
        Assert.Equal("Can't write the message because the call is complete.", error.Message);
    }

    [Fact]
    public async Task StreamWriter_OverlappingWrites_ThrowInvalidOperation()
    {
        var probe = new Probe();
        await using var server = await StartProbeServerAsync(probe);
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, RawGrpc.Request(server.Address, ProbePath + "ServerStream", RawGrpc.Frame(new StreamRequest { Message = "overlap" })));

        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal(1024 * 1024, response.Message(0, EchoReply.Parser).Payload.Length);
        Assert.Equal(["Can't write the message because the previous write is in progress."], probe.Snapshot());
    }

    [Fact]
    public async Task Http11Request_IsRejectedWith426()
    {
        await using var server = await TestServer.StartAsync(o => o.Protocols = HttpProtocols.Http1AndHttp2);
        using var client = RawGrpc.CreateClient();
        var request = RawGrpc.Request(server.Address, TestServer.Methods.Echo, RawGrpc.Frame(new EchoRequest()));
        request.Version = HttpVersion.Version11;

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Equal(((int)StatusCode.Internal).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task MaxReceiveMessageSize_WhenConfigured_RejectsLargerMessages()
    {
        await using var server = await TestServer.StartAsync(o => o.ConfigureGrpc = g => g.MaxReceiveMessageSize = 100);
        using var client = RawGrpc.CreateClient();
        var body = RawGrpc.Frame(new EchoRequest { Payload = Google.Protobuf.ByteString.CopyFrom(new byte[200]) });

        var response = await RawGrpc.SendAsync(client, RawGrpc.Request(server.Address, TestServer.Methods.Echo, body));

        Assert.Equal((int)StatusCode.ResourceExhausted, response.GrpcStatus);
        Assert.Equal("Received message larger than max (203 vs. 100).", response.GrpcMessage);
    }

    [Fact]
    public async Task EnableDetailedErrors_PutsExceptionMessageInStatus()
    {
        await using var server = await TestServer.StartAsync(o => o.ConfigureGrpc = g => g.EnableDetailedErrors = true);
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, RawGrpc.Request(server.Address, TestServer.Methods.Echo, RawGrpc.Frame(new EchoRequest { ThrowException = true })));

        Assert.Equal((int)StatusCode.Unknown, response.GrpcStatus);
        Assert.Equal("Exception was thrown by handler. InvalidOperationException: " + TestServer.SecretExceptionMessage, response.GrpcMessage);
    }
}
