using Google.Protobuf;
using Grpc.Core;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Benchmarks;

/// <summary>
/// Echo as the test service does it (see test_service.proto): the work the "test handler" rows have always measured,
/// on every call, looking for <c>x-echo-</c> headers to send back as trailers, then the knobs (delay, failure,
/// response size, metadata echo); the benchmark's request sets none of them. Only Echo is served.
/// </summary>
internal sealed class TestEchoService : TestService.TestServiceBase
{
    private const string EchoTrailerPrefix = "x-echo-";

    public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        // Without a delay Echo completes synchronously, so the benchmark measures gRPC, not a state machine.
        try
        {
            EchoTrailers(context);
            return request.DelayMs > 0 ? ReplyAfterDelayAsync(request, context) : Task.FromResult(Reply(request, context));
        }
        catch (Exception ex)
        {
            return Task.FromException<EchoReply>(ex);
        }
    }

    private static async Task<EchoReply> ReplyAfterDelayAsync(EchoRequest request, ServerCallContext context)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), context.CancellationToken);
        return Reply(request, context);
    }

    private static EchoReply Reply(EchoRequest request, ServerCallContext context)
    {
        if (request.ThrowException)
        {
            throw new InvalidOperationException("secret internal detail");
        }

        if (request.FailWithCode != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailWithCode, request.FailWithMessage));
        }

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
