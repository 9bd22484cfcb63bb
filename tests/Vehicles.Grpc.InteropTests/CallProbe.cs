using Grpc.Core;
using Grpc.Core.Interceptors;
using System.Collections.Concurrent;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// A server interceptor, innermost around the silo's handlers, that records for every call carrying a
/// <see cref="CallIdHeader"/> header the request headers it saw (and the request's grpc-encoding), whether the call's cancellation token fired while the
/// handler ran, and how the handler ended. It lets the tests see from the server side what a python client's
/// cancellation, deadline or metadata did. Calls refused before the handler (authentication) never reach it.
/// </summary>
internal sealed class CallProbe : Interceptor
{
    public const string CallIdHeader = "x-call-id";

    private static readonly TimeSpan _waitLimit = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<string, ConcurrentQueue<CallRecord>> _calls = new(StringComparer.Ordinal);

    /// <summary>Every call seen with this id so far, in the order they started.</summary>
    public IReadOnlyList<CallRecord> Calls(string callId) => _calls.TryGetValue(callId, out var calls) ? [.. calls] : [];

    /// <summary>Polls (bounded) until the single call with this id satisfies a condition; returns its record.</summary>
    public async Task<CallRecord> WaitForAsync(string callId, Func<CallRecord, bool> condition, string what) =>
        (await WaitForAllAsync(callId, calls => calls.Count == 1 && condition(calls[0]), what))[0];

    /// <summary>Polls (bounded) until the calls with this id satisfy a condition; returns them.</summary>
    public async Task<IReadOnlyList<CallRecord>> WaitForAllAsync(string callId, Func<IReadOnlyList<CallRecord>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + _waitLimit;
        while (DateTime.UtcNow < deadline)
        {
            var calls = Calls(callId);
            if (condition(calls))
            {
                return calls;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }

        throw new TimeoutException($"Calls {callId} did not reach '{what}' within {_waitLimit.TotalSeconds} s; seen: [{string.Join("; ", Calls(callId))}].");
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

        var record = new CallRecord(
            context.Method,
            [.. context.RequestHeaders.Select(h => (h.Key, h.IsBinary ? Convert.ToBase64String(h.ValueBytes) : h.Value))],
            context.GetHttpContext().Request.Headers["grpc-encoding"].ToString());
        _calls.GetOrAdd(callId, _ => new ConcurrentQueue<CallRecord>()).Enqueue(record);
        using var registration = context.CancellationToken.Register(static state => ((CallRecord)state!).MarkCancelled(), record);
        try
        {
            var result = await handler();
            record.End("completed", context.CancellationToken.IsCancellationRequested);
            return result;
        }
        catch (RpcException ex)
        {
            record.End(ex.StatusCode.ToString(), context.CancellationToken.IsCancellationRequested);
            throw;
        }
        catch (Exception ex)
        {
            record.End(ex.GetType().Name, context.CancellationToken.IsCancellationRequested);
            throw;
        }
    }

    /// <summary>What the server saw of one call.</summary>
    internal sealed class CallRecord(string method, List<(string Key, string Value)> headers, string requestEncoding)
    {
        private volatile bool _cancelled;
        private volatile string? _outcome;

        public string Method { get; } = method;

        /// <summary>The request headers as the handler saw them (binary values base64-encoded).</summary>
        public List<(string Key, string Value)> Headers { get; } = headers;

        /// <summary>The request's grpc-encoding header (not among the headers a handler sees); empty when uncompressed.</summary>
        public string RequestEncoding { get; } = requestEncoding;

        /// <summary>Whether the call's <see cref="ServerCallContext.CancellationToken"/> fired while the handler ran.</summary>
        public bool Cancelled => _cancelled;

        /// <summary>How the handler ended: "completed", the status code of an RpcException, or the exception type; null while it runs.</summary>
        public string? Outcome => _outcome;

        // Only while the handler runs: what the server does to the token after the handler returned is not observed here.
        public void MarkCancelled() => _cancelled |= _outcome is null;

        // The token's callbacks run newest first, so a handler that stops on its own linked token may return before
        // MarkCancelled runs: the token's state when the handler ends counts too.
        public void End(string outcome, bool cancelled)
        {
            _cancelled |= cancelled;
            _outcome = outcome;
        }

        public override string ToString() => $"{Method}: cancelled={Cancelled}, outcome={Outcome ?? "running"}";
    }
}
