using System.Globalization;
using Google.Protobuf;
using Microsoft.Extensions.Primitives;
using Vehicles.Grpc.Server;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Benchmarks;

/// <summary>
/// The benchmark's server: the tests' <see cref="TestServer"/> (Kestrel, h2c on 127.0.0.1, TestService through
/// Vehicles.Grpc) plus <see cref="PlainPath"/>, a bare MapPost that reads the body and answers the same framed
/// reply bytes without trailers: the cost floor of an HTTP/2 request and response on Kestrel.
/// </summary>
internal static class BenchmarkServer
{
    public const string PlainPath = "/plain/echo";

    /// <summary>The plain endpoint plus a <c>grpc-status: 0</c> trailer: the share of the gap every gRPC server pays.</summary>
    public const string PlainWithTrailerPath = "/plain/echo-trailer";

    /// <summary>
    /// GET: the process's allocated bytes, GC counts and CPU time in µs, so the script can work out bytes and CPU
    /// time per request: measures that other load on the machine skews far less than requests per second.
    /// </summary>
    public const string StatsPath = "/stats";

    /// <summary>The request h2load posts: about 30 bytes, like a small vehicle command.</summary>
    private static readonly StringValues _statusOk = new("0");

    public static readonly EchoRequest Request = new() { Message = "hello from vehicle WVW-000042" };

    public static Task<TestServer> StartAsync(BenchmarkSettings settings)
    {
        if (settings.RequestFile is { } requestFile)
        {
            File.WriteAllBytes(requestFile, Frame(Request.ToByteArray()));
        }

        // What Echo answers to Request; the plain endpoint sends these very bytes.
        var reply = Frame(new EchoReply { Message = Request.Message, Payload = Request.Payload }.ToByteArray());
        return TestServer.StartAsync(options =>
        {
            options.MapTestService = !settings.MinimalService;
            options.MapHealth = false;
            options.MapReflection = false;
            // TestServer captures Debug logs for assertions; a benchmark must not pay for that.
            options.ConfigureServices = services => services.Configure<LoggerFilterOptions>(filter => filter.MinLevel = LogLevel.Warning);
            options.MapEndpoints = endpoints =>
            {
                endpoints.MapPost(PlainPath, (RequestDelegate)(context => PlainEchoAsync(context, reply, trailer: false)));
                endpoints.MapPost(PlainWithTrailerPath, (RequestDelegate)(context => PlainEchoAsync(context, reply, trailer: true)));
                endpoints.MapGet(StatsPath, (RequestDelegate)WriteStatsAsync);
                if (settings.AllocationProfile)
                {
                    var profiler = new AllocationProfiler();
                    endpoints.MapGet("/alloc-profile", (RequestDelegate)(context => context.Response.WriteAsync(profiler.Report(top: 25))));
                    endpoints.MapDelete("/alloc-profile", (RequestDelegate)(context =>
                    {
                        profiler.Reset();
                        return Task.CompletedTask;
                    }));
                }

                if (settings.MinimalService)
                {
                    endpoints.MapGrpcService<MinimalEchoService>(TestServiceReflection.Descriptor.Services[0]);
                }
            };
        });
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

        context.Response.ContentType = GrpcProtocol.ContentType;
        await context.Response.BodyWriter.WriteAsync(reply, context.RequestAborted);
        if (trailer)
        {
            context.Response.AppendTrailer(GrpcProtocol.StatusHeader, _statusOk);
        }
    }

    private static Task WriteStatsAsync(HttpContext context) =>
        context.Response.WriteAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"{GC.GetTotalAllocatedBytes(precise: true)} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {Environment.CpuUsage.TotalTime.Ticks / TimeSpan.TicksPerMicrosecond}\n"));

    private static byte[] Frame(byte[] message)
    {
        var framed = new byte[GrpcProtocol.FrameHeaderLength + message.Length];
        GrpcProtocol.WriteFrameHeader(framed, compressed: false, message.Length);
        message.CopyTo(framed.AsSpan(GrpcProtocol.FrameHeaderLength));
        return framed;
    }
}
