using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Vehicles.Grpc.Server;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

/// <summary>Records the id of every HTTP connection a server serves a request on.</summary>
public sealed class ConnectionCounter : IStartupFilter
{
    private readonly ConcurrentDictionary<string, byte> _connectionIds = new();

    public int Count => _connectionIds.Count;

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            _connectionIds.TryAdd(context.Connection.Id, 0);
            return nextMiddleware(context);
        });
        next(app);
    };

    public void Reset() => _connectionIds.Clear();
}

/// <summary>The TestService on a real server, with connection counting; one per test class.</summary>
public class TestServiceFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public ConnectionCounter Connections { get; } = new();

    public Uri Address => Server.Address;

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync(options =>
        {
            options.ConfigureServices = services => services.AddSingleton<IStartupFilter>(Connections);
            Configure(options);
        });
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    protected virtual void Configure(TestServerOptions options)
    {
    }
}

/// <summary>A server that accepts request messages up to 1 KiB.</summary>
public sealed class SmallLimitsFixture : TestServiceFixture
{
    public const int MaxReceiveMessageSize = 1024;

    protected override void Configure(TestServerOptions options) =>
        options.ConfigureGrpc = grpc => grpc.MaxReceiveMessageSize = MaxReceiveMessageSize;
}

/// <summary>A server that gzips its responses.</summary>
public sealed class GzipResponsesFixture : TestServiceFixture
{
    protected override void Configure(TestServerOptions options) =>
        options.ConfigureGrpc = grpc => grpc.ResponseCompressionAlgorithm = GrpcProtocol.GzipEncoding;
}

/// <summary>
/// A server whose TestService is <see cref="ProbeService"/>, which tells the test what its handlers saw, plus
/// raw HTTP endpoints that misbehave on purpose.
/// </summary>
public sealed class ProbeFixture : TestServiceFixture
{
    public const string UnavailablePath = "/raw.Service/Unavailable";
    public const string MissingStatusPath = "/raw.Service/MissingStatus";
    public const string PlainTextPath = "/raw.Service/PlainText";
    public const string TrailersOnlyOkPath = "/raw.Service/TrailersOnlyOk";
    public const string TruncatedPath = "/raw.Service/Truncated";

    public ProbeService Probe { get; } = new();

    protected override void Configure(TestServerOptions options)
    {
        options.MapTestService = false;
        var configureServices = options.ConfigureServices;
        options.ConfigureServices = services =>
        {
            configureServices?.Invoke(services);
            services.AddSingleton(Probe);
        };
        options.MapEndpoints = endpoints =>
        {
            endpoints.MapGrpcService<ProbeService>(TestServiceReflection.Descriptor.Services[0]);
            endpoints.MapPost(UnavailablePath, context =>
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            });
            endpoints.MapPost(MissingStatusPath, async context =>
            {
                context.Response.ContentType = GrpcProtocol.ContentType;
                await context.Response.Body.FlushAsync(context.RequestAborted);
            });
            endpoints.MapPost(TrailersOnlyOkPath, context =>
            {
                context.Response.ContentType = GrpcProtocol.ContentType;
                context.Response.Headers[GrpcProtocol.StatusHeader] = "0";
                return Task.CompletedTask;
            });
            endpoints.MapPost(TruncatedPath, async context =>
            {
                // A frame header that promises 100 bytes, then 3 bytes and the end of the stream.
                context.Response.ContentType = GrpcProtocol.ContentType;
                await context.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 100, 1, 2, 3 }, context.RequestAborted);
            });
            endpoints.MapPost(PlainTextPath, context =>
            {
                context.Response.ContentType = "text/plain";
                return context.Response.WriteAsync("not grpc", context.RequestAborted);
            });
        };
    }
}

/// <summary>What one call to <see cref="ProbeService"/> saw.</summary>
public sealed class ProbeCall
{
    public required Metadata RequestHeaders { get; init; }

    /// <summary>The raw <c>grpc-timeout</c> request header.</summary>
    public string? GrpcTimeout { get; init; }

    /// <summary>Completes when the handler's cancellation token fires.</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// A TestService whose handlers record their calls by the request's <c>message</c> (a unique id per test) and,
/// for the "wait" knobs, wait until cancelled.
/// </summary>
public sealed class ProbeService
{
    public const string WaitForCancellation = "wait:";

    private readonly ConcurrentDictionary<string, TaskCompletionSource<ProbeCall>> _calls = new();

    /// <summary>The call with this id, once its handler has started.</summary>
    public Task<ProbeCall> WaitForCallAsync(string id) => Slot(id).Task.WaitAsync(TimeSpan.FromSeconds(30));

    public async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        var call = Record(request.Message, context);
        if (request.Message.StartsWith(WaitForCancellation, StringComparison.Ordinal))
        {
            await WaitUntilCancelledAsync(call, context);
        }

        return new EchoReply { Message = request.Message, Metadata = { context.RequestHeaders.GetValue("authorization") ?? "" } };
    }

    public async Task ServerStream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        var headers = new Metadata { { "x-response-header", "on" }, { "x-response-bin", new byte[] { 0, 1, 254, 255 } } };
        await context.WriteResponseHeadersAsync(headers);
        await responseStream.WriteAsync(new EchoReply { Message = request.Message, Count = 1 }, context.CancellationToken);
        var call = Record(request.Message, context);
        if (request.Message.StartsWith(WaitForCancellation, StringComparison.Ordinal))
        {
            await WaitUntilCancelledAsync(call, context);
        }
    }

    public async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        ProbeCall? call = null;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            call ??= Record(requestStream.Current.Message, context);
            await responseStream.WriteAsync(new EchoReply { Message = requestStream.Current.Message }, context.CancellationToken);
        }
    }

    private ProbeCall Record(string id, ServerCallContext context)
    {
        var call = new ProbeCall
        {
            RequestHeaders = context.RequestHeaders,
            GrpcTimeout = context.GetHttpContext().Request.Headers[GrpcProtocol.TimeoutHeader].FirstOrDefault(),
        };
        context.CancellationToken.Register(() => call.Cancelled.TrySetResult());
        Slot(id).TrySetResult(call);
        return call;
    }

    private static async Task WaitUntilCancelledAsync(ProbeCall call, ServerCallContext context)
    {
        await call.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(60));
        context.CancellationToken.ThrowIfCancellationRequested();
    }

    private TaskCompletionSource<ProbeCall> Slot(string id) =>
        _calls.GetOrAdd(id, _ => new TaskCompletionSource<ProbeCall>(TaskCreationOptions.RunContinuationsAsynchronously));
}
