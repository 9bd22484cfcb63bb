using Google.Protobuf;
using Vehicles.Grpc.Server;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Testing;

/// <summary>
/// The C# implementation of <c>vehicles.testing.v1.TestService</c> (see the proto for the knobs). Besides
/// what the proto says, request headers whose names start with <c>x-echo-</c> are sent back as response
/// trailers (so metadata, <c>-bin</c> included, can be checked both ways), and delays use the server's
/// <see cref="TimeProvider"/>.
/// </summary>
internal sealed class TestServiceImpl(TimeProvider timeProvider)
{
    public const string EchoTrailerPrefix = "x-echo-";

    /// <summary>The message of the exception thrown on request: it must never reach a client.</summary>
    public const string SecretExceptionMessage = "secret internal detail";

    public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        // Without a delay Echo completes synchronously, so the benchmark measures the layer, not a state machine.
        try
        {
            EchoTrailers(context);
            return request.DelayMs > 0 ? ReplyAsync(request, context) : Task.FromResult(Reply(request, context));
        }
        catch (Exception ex)
        {
            return Task.FromException<EchoReply>(ex);
        }
    }

    public async Task ServerStream(StreamRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        EchoTrailers(context);
        for (var i = 1; i <= request.Count; i++)
        {
            if (i > 1 && request.DelayMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), timeProvider, context.CancellationToken);
            }

            var reply = new EchoReply { Message = request.Message, Count = i };
            if (request.ResponseSize > 0)
            {
                reply.Payload = Payload(request.ResponseSize);
            }

            await responseStream.WriteAsync(reply, context.CancellationToken);
        }

        if (request.FailWithCode != 0)
        {
            throw new RpcException((StatusCode)request.FailWithCode, request.FailWithMessage);
        }
    }

    public async Task<EchoReply> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        EchoTrailers(context);
        var messages = new List<string>();
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            await ApplyKnobsAsync(request, context);
            messages.Add(request.Message);
        }

        return new EchoReply { Message = string.Join(',', messages), Count = messages.Count };
    }

    public async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        EchoTrailers(context);
        var count = 0L;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var reply = await ReplyAsync(requestStream.Current, context);
            reply.Count = ++count;
            await responseStream.WriteAsync(reply, context.CancellationToken);
        }
    }

    private async Task<EchoReply> ReplyAsync(EchoRequest request, ServerCallContext context)
    {
        if (request.DelayMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), timeProvider, context.CancellationToken);
        }

        return Reply(request, context);
    }

    private static EchoReply Reply(EchoRequest request, ServerCallContext context)
    {
        ThrowIfFailing(request);
        var reply = new EchoReply
        {
            Message = request.Message,
            Payload = request.ResponseSize > 0 ? Payload(request.ResponseSize) : request.Payload,
        };
        if (request.EchoMetadata)
        {
            foreach (var entry in context.RequestHeaders)
            {
                if (entry.Key.StartsWith("x-", StringComparison.Ordinal))
                {
                    reply.Metadata.Add(entry.Key + "=" + (entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value));
                }
            }
        }

        return reply;
    }

    private async Task ApplyKnobsAsync(EchoRequest request, ServerCallContext context)
    {
        if (request.DelayMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), timeProvider, context.CancellationToken);
        }

        ThrowIfFailing(request);
    }

    private static void ThrowIfFailing(EchoRequest request)
    {
        if (request.ThrowException)
        {
            throw new InvalidOperationException(SecretExceptionMessage);
        }

        if (request.FailWithCode != 0)
        {
            throw new RpcException((StatusCode)request.FailWithCode, request.FailWithMessage);
        }
    }

    private static void EchoTrailers(ServerCallContext context)
    {
        // Most calls carry no x-echo- header: look at the raw header names before building the request metadata.
        if (!HasEchoHeader(context))
        {
            return;
        }

        foreach (var entry in context.RequestHeaders)
        {
            if (entry.Key.StartsWith(EchoTrailerPrefix, StringComparison.Ordinal))
            {
                context.ResponseTrailers.Add(entry);
            }
        }
    }

    private static bool HasEchoHeader(ServerCallContext context)
    {
        foreach (var header in context.GetHttpContext().Request.Headers)
        {
            if (header.Key.StartsWith(EchoTrailerPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static ByteString Payload(int size)
    {
        var bytes = new byte[size];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        return ByteString.CopyFrom(bytes);
    }
}
