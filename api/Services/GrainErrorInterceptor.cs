using Grpc.Core;
using Grpc.Core.Interceptors;
using Orleans.Storage;

namespace Vehicles.Api.Services;

/// <summary>
/// Turns the runtime's failures into statuses a client can act on, instead of UNKNOWN: an unreachable silo or a write
/// fenced during a cluster change is UNAVAILABLE (nothing was applied when it says so; retry), a full grain mailbox
/// RESOURCE_EXHAUSTED, a grain that did not answer in time DEADLINE_EXCEEDED.
/// </summary>
public sealed class GrainErrorInterceptor : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await continuation(request, context);
            }
            catch (Exception ex) when (attempt < MaxFencedAttempts && IsFenced(ex))
            {
                // Nothing was written and the stale activation is gone: the next attempt reaches a fresh one.
            }
            catch (Exception ex) when (Map(ex) is { } status)
            {
                throw status;
            }
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (Map(ex) is { } status)
        {
            throw status;
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Map(ex) is { } status)
        {
            throw status;
        }
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (Map(ex) is { } status)
        {
            throw status;
        }
    }

    /// <summary>The status for an Orleans failure, or <see langword="null"/> to let the server treat it as unexpected.</summary>
    public static RpcException? Map(Exception exception) => exception switch
    {
        RpcException => null,

        // The silo that held the grain is gone or unreachable, or the message could not be delivered: nothing was
        // applied unless the grain said so; the cluster settles within the failure-detection time.
        SiloUnavailableException e => new RpcException(new Status(StatusCode.Unavailable, "the silo holding the vehicle is unavailable; retry: " + e.Message)),
        OrleansMessageRejectionException e => new RpcException(new Status(StatusCode.Unavailable, "the call could not be delivered; retry: " + e.Message)),
        InconsistentStateException => Fenced(),

        // Orleans rejects calls above SiloMessagingOptions.MaxEnqueuedRequestsHardLimit for one activation.
        LimitExceededException e => new RpcException(new Status(StatusCode.ResourceExhausted, e.Message)),

        // No answer within SiloMessagingOptions.ResponseTimeout (Actors:CallTimeout).
        TimeoutException e => new RpcException(new Status(StatusCode.DeadlineExceeded, e.Message)),
        _ => null,
    };

    // A unary call whose state write was refused (the grain moved between silos while it ran and another activation
    // wrote meanwhile) changed nothing durable and is run again; Orleans deactivates an activation whose write failed
    // with an ETag conflict, so the retry reads the state afresh.
    private const int MaxFencedAttempts = 3;

    private static bool IsFenced(Exception exception) => exception is InconsistentStateException;

    private static RpcException Fenced() => new(new Status(
        StatusCode.Unavailable, "the vehicle moved between silos while this call ran and its write was refused; nothing was applied, retry"));
}
