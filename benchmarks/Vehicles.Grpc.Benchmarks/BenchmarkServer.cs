using Google.Protobuf;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Primitives;
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Benchmarks;

/// <summary>
/// The benchmark's server: Kestrel, h2c on 127.0.0.1, TestService/Echo through Grpc.AspNetCore
/// (<see cref="TestEchoService"/>, or <see cref="MinimalEchoService"/>) plus <see cref="PlainPath"/>, a bare MapPost
/// that reads the body and answers the same framed reply bytes without trailers: the cost floor of an HTTP/2 request
/// and response on Kestrel.
/// </summary>
internal sealed class BenchmarkServer : IAsyncDisposable
{
    public const string PlainPath = "/plain/echo";

    /// <summary>The plain endpoint plus a <c>grpc-status: 0</c> trailer: the share of the gap every gRPC server pays.</summary>
    public const string PlainWithTrailerPath = "/plain/echo-trailer";

    /// <summary>
    /// GET: the process's allocated bytes, GC counts and CPU time in µs, so the script can work out bytes and CPU
    /// time per request: measures that other load on the machine skews far less than requests per second.
    /// </summary>
    public const string StatsPath = "/stats";

    private const string GrpcContentType = "application/grpc";
    private const int FrameHeaderLength = 5;

    private static readonly StringValues _statusOk = new("0");

    private readonly WebApplication _app;

    private BenchmarkServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The request h2load posts: about 30 bytes, like a small vehicle command.</summary>
    public static EchoRequest Request { get; } = new() { Message = "hello from vehicle WVW-000042" };

    public Uri Address { get; }

    public static async Task<BenchmarkServer> StartAsync(BenchmarkSettings settings)
    {
        if (settings.RequestFile is { } requestFile)
        {
            await File.WriteAllBytesAsync(requestFile, Frame(Request.ToByteArray()));
        }

        // What Echo answers to Request; the plain endpoints send these very bytes.
        var reply = Frame(new EchoReply { Message = Request.Message, Payload = Request.Payload }.ToByteArray());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        if (settings.MinimalService)
        {
            app.MapGrpcService<MinimalEchoService>();
        }
        else
        {
            app.MapGrpcService<TestEchoService>();
        }

        app.MapPost(PlainPath, (RequestDelegate)(context => PlainEchoAsync(context, reply, trailer: false)));
        app.MapPost(PlainWithTrailerPath, (RequestDelegate)(context => PlainEchoAsync(context, reply, trailer: true)));
        app.MapGet(StatsPath, (RequestDelegate)WriteStatsAsync);
        if (settings.AllocationProfile)
        {
            var profiler = new AllocationProfiler();
            app.MapGet("/alloc-profile", (RequestDelegate)(context => context.Response.WriteAsync(profiler.Report(top: 25))));
            app.MapDelete("/alloc-profile", (RequestDelegate)(context =>
            {
                profiler.Reset();
                return Task.CompletedTask;
            }));
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new BenchmarkServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    private static async Task PlainEchoAsync(HttpContext context, byte[] reply, bool trailer)
    {
        // Read the whole request like the gRPC endpoint must, so both pay for the request DATA frames.
        var body = context.Request.BodyReader;
        while (true)
        {
            var read = await body.ReadAsync(context.RequestAborted);
            body.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        context.Response.ContentType = GrpcContentType;
        await context.Response.BodyWriter.WriteAsync(reply, context.RequestAborted);
        if (trailer)
        {
            context.Response.AppendTrailer("grpc-status", _statusOk);
        }
    }

    private static Task WriteStatsAsync(HttpContext context) =>
        context.Response.WriteAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"{GC.GetTotalAllocatedBytes(precise: true)} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {Environment.CpuUsage.TotalTime.Ticks / TimeSpan.TicksPerMicrosecond}\n"));

    /// <summary>gRPC's length-prefixed framing: an uncompressed flag byte, the big-endian length, the message.</summary>
    private static byte[] Frame(byte[] message)
    {
        var framed = new byte[FrameHeaderLength + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed.AsSpan(FrameHeaderLength));
        return framed;
    }
}
