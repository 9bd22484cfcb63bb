using System.Collections.Concurrent;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// A server interceptor that records, for every call carrying an <see cref="CallIdHeader"/> header, when its
/// handler started, whether the call's cancellation token fired, and how the handler ended. It lets the
/// tests see from the server side what a python client's cancellation or deadline did to the handler.
/// </summary>
internal sealed class CallProbe : Interceptor
{
    public const string CallIdHeader = "x-call-id";

    private readonly ConcurrentDictionary<string, CallRecord> _calls = new(StringComparer.Ordinal);

    /// <summary>Polls (bounded) until the call with this id satisfies a condition; returns its record.</summary>
    public async Task<CallRecord> WaitForAsync(string callId, Func<CallRecord, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_calls.TryGetValue(callId, out var record) && condition(record))
            {
                return record;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }

        var state = _calls.TryGetValue(callId, out var last) ? last.ToString() : "never started";
        throw new TimeoutException($"Call {callId} did not reach '{what}' within 15 s; its state: {state}.");
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        ObserveAsync(context, () => continuation(request, context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        ObserveAsync(context, async () =>
        {
            await continuation(request, responseStream, context);
            return true;
        });

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        ObserveAsync(context, () => continuation(requestStream, context));

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        ObserveAsync(context, async () =>
        {
            await continuation(requestStream, responseStream, context);
            return true;
        });

    private async Task<T> ObserveAsync<T>(ServerCallContext context, Func<Task<T>> handler)
    {
        var callId = context.RequestHeaders.GetValue(CallIdHeader);
        if (callId is null)
        {
            return await handler();
        }

        var record = new CallRecord(context.Method);
        _calls[callId] = record;
        using var registration = context.CancellationToken.Register(static state => ((CallRecord)state!).MarkCancelled(), record);
        try
        {
            var result = await handler();
            record.End("completed");
            return result;
        }
        catch (Exception ex)
        {
            record.End(ex.GetType().Name);
            throw;
        }
    }

    /// <summary>What the server saw of one call.</summary>
    internal sealed class CallRecord(string method)
    {
        private volatile bool _cancelled;
        private volatile string? _outcome;

        public string Method { get; } = method;

        /// <summary>Whether the call's <see cref="ServerCallContext.CancellationToken"/> fired while the handler ran.</summary>
        public bool Cancelled => _cancelled;

        /// <summary>How the handler ended: "completed" or the exception type; null while it runs.</summary>
        public string? Outcome => _outcome;

        // Only while the handler runs: what a server does to the token after the handler returned is not observed here.
        public void MarkCancelled() => _cancelled |= _outcome is null;

        public void End(string outcome) => _outcome = outcome;

        public override string ToString() => $"{Method}: cancelled={Cancelled}, outcome={Outcome ?? "running"}";
    }
}
