using Vehicles.Grpc.Server;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Tests.Server;

/// <summary>What the probe service saw; registered as a singleton so a test can look inside calls.</summary>
internal sealed class Probe
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource HandlerCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource HandlerEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<string> Events { get; } = [];

    public IServerStreamWriter<EchoReply>? Writer { get; set; }

    public List<string> Snapshot()
    {
        lock (Events)
        {
            return [.. Events];
        }
    }

    public void Record(string value)
    {
        lock (Events)
        {
            Events.Add(value);
        }
    }
}

/// <summary>
/// A second implementation of TestService for server tests. It has no ClientStream method on purpose
/// (that method must answer UNIMPLEMENTED). Echo's behaviour is picked by the request message.
/// </summary>
internal sealed class ProbeService(Probe probe)
{
    public async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        probe.Record("handler");
        probe.Started.TrySetResult();
        try
        {
            switch (request.Message)
            {
                case "wait-for-cancel":
                    try
                    {
                        await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        probe.HandlerCancelled.TrySetResult();
                        throw;
                    }

                    break;
                case "ignore-cancel":
                    await probe.Release.Task;
                    break;
                case "headers":
                    await context.WriteResponseHeadersAsync(new Metadata { { "x-header", "h" }, { "x-header-bin", new byte[] { 1, 2, 3 } } });
                    break;
                case "context":
                    context.ResponseTrailers.Add("x-user-state", context.UserState.TryGetValue("interceptor", out var value) ? (string)value : "none");
                    return new EchoReply
                    {
                        Message = context.Method,
                        Metadata =
                        {
                            "host=" + context.Host,
                            "peer=" + context.Peer,
                            "deadline=" + (context.Deadline == DateTime.MaxValue ? "none" : context.Deadline.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
                            "http=" + context.GetHttpContext().Request.Protocol,
                        },
                    };
                case "status":
                    context.Status = new Status(StatusCode.FailedPrecondition, "set by handler");
                    break;
                default:
                    break;
            }

            return new EchoReply { Message = request.Message };
        }
        finally
        {
            probe.HandlerEnded.TrySetResult();
        }
    }

    public async Task ServerStream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        probe.Writer = responseStream;
        if (request.Message == "overlap")
        {
            // A message far larger than the HTTP/2 window keeps the first write pending until the client reads.
            var first = responseStream.WriteAsync(new EchoReply { Payload = Google.Protobuf.ByteString.CopyFrom(new byte[1024 * 1024]) }, context.CancellationToken);
            try
            {
                await responseStream.WriteAsync(new EchoReply { Message = "second" }, context.CancellationToken);
            }
            catch (InvalidOperationException ex)
            {
                probe.Record(ex.Message);
            }

            await first;
            return;
        }

        for (var i = 1; i <= request.Count; i++)
        {
            await responseStream.WriteAsync(new EchoReply { Count = i }, context.CancellationToken);
        }

        probe.Started.TrySetResult();
        if (request.Message == "wait-for-cancel")
        {
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.HandlerCancelled.TrySetResult();
                throw;
            }
        }
    }

    public async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        probe.Record("duplex");
        while (await requestStream.MoveNext(CancellationToken.None))
        {
            await responseStream.WriteAsync(new EchoReply { Message = requestStream.Current.Message }, context.CancellationToken);
        }
    }
}

/// <summary>A service whose Echo has the wrong signature: mapping it must fail at startup.</summary>
internal sealed class WrongSignatureService
{
    private readonly string _prefix = "wrong:";

    public Task<EchoReply> Echo(EchoRequest request) => Task.FromResult(new EchoReply { Message = _prefix + request.Message });
}

/// <summary>Records its position in the pipeline.</summary>
internal sealed class OrderInterceptor(Probe probe, string name) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        probe.Record(name + "-before");
        context.UserState["interceptor"] = name;
        var response = await continuation(request, context);
        probe.Record(name + "-after");
        return response;
    }
}

internal sealed class FirstInterceptor(Probe probe) : Interceptor
{
    private readonly OrderInterceptor _inner = new(probe, "first");

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        _inner.UnaryServerHandler(request, context, continuation);
}

internal sealed class SecondInterceptor(Probe probe) : Interceptor
{
    private readonly OrderInterceptor _inner = new(probe, "second");

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        _inner.UnaryServerHandler(request, context, continuation);
}

/// <summary>Records when it is created and disposed, to check how service instances are activated.</summary>
internal sealed class LifetimeService : IDisposable
{
    private readonly Probe _probe;

    public LifetimeService(Probe probe)
    {
        _probe = probe;
        probe.Record("created");
    }

    public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        _probe.Record("call");
        return Task.FromResult(new EchoReply { Message = request.Message });
    }

    public void Dispose() => _probe.Record("disposed");
}
