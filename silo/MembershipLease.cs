using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Vehicles.Silo;

/// <summary>
/// Serves only while this silo has recently read itself <see cref="SiloStatus.Active"/> in the membership table. A
/// silo frozen (SIGSTOP, a long stall) or cut off long enough to be declared dead otherwise goes on answering from its
/// stale activations when it wakes, until Orleans' next periodic table read (<c>TableRefreshTimeout</c>, 60 s by
/// default) tells it to stop, while the grains are already active again elsewhere. Here the table is read every
/// quarter of the lease, and a call arriving when the last read that showed this silo active started longer ago than
/// the lease is refused with UNAVAILABLE ("retry, on any server"). The lease is the shortest time in which the others
/// can declare a silo dead that stopped answering probes (<c>NumMissedProbesLimit</c> × <c>ProbeTimeout</c>), so by
/// the time they can have declared it dead it no longer serves; the read that finds it dead makes Orleans stop it
/// (exit code 3, <see cref="ExitOnFatalError"/>). Without clustering there is no one to declare it dead: always held.
/// </summary>
internal sealed partial class MembershipLease(
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    IOptions<ClusterMembershipOptions> options,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<MembershipLease> logger) : BackgroundService
{
    private readonly bool _clustered = configuration.GetValue<bool>("Cluster:Enabled");
    private readonly TimeSpan _lease = options.Value.ProbeTimeout * Math.Max(1, options.Value.NumMissedProbesLimit);
    private long _confirmedAt = long.MinValue;
    private int _lapsed;

    /// <summary>Whether this silo may serve now.</summary>
    public bool IsHeld =>
        !_clustered || (Volatile.Read(ref _confirmedAt) is var at && at != long.MinValue && time.GetElapsedTime(at) < _lease);

    /// <summary>Throws UNAVAILABLE unless <see cref="IsHeld"/>.</summary>
    public void EnsureHeld()
    {
        if (!IsHeld)
        {
            if (Interlocked.Exchange(ref _lapsed, 1) == 0)
            {
                LogLapsed(logger, _lease);
            }

            throw new RpcException(new Status(StatusCode.Unavailable, "this server has not confirmed its cluster membership within " + _lease + "; retry (on any server)"));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_clustered)
        {
            return;
        }

        var interval = _lease / 4;
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = time.GetTimestamp();
            try
            {
                await membership.Refresh(cancellationToken: stoppingToken);
                if (membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress) == SiloStatus.Active)
                {
                    Volatile.Write(ref _confirmedAt, started);
                    Volatile.Write(ref _lapsed, 0);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage unreachable: the lease runs out and the silo stops serving until a read succeeds again.
                LogRefreshFailed(logger, ex);
            }

            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refusing calls: no membership read within {Lease} showed this silo active")]
    private static partial void LogLapsed(ILogger logger, TimeSpan lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the membership table failed; this silo serves again once a read shows it active")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}

/// <summary>Refuses every call while the <see cref="MembershipLease"/> is not held.</summary>
internal sealed class MembershipLeaseInterceptor(MembershipLease lease) : Interceptor
{
    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        lease.EnsureHeld();
        return base.UnaryServerHandler(request, context, continuation);
    }

    /// <inheritdoc />
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        lease.EnsureHeld();
        return base.ClientStreamingServerHandler(requestStream, context, continuation);
    }

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        lease.EnsureHeld();
        return base.ServerStreamingServerHandler(request, responseStream, context, continuation);
    }

    /// <inheritdoc />
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        lease.EnsureHeld();
        return base.DuplexStreamingServerHandler(requestStream, responseStream, context, continuation);
    }
}
