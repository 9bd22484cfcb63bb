using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Actors;
using Vehicles.Grains;
using Vehicles.Grpc.Server;

namespace Vehicles.Cluster;

/// <summary>
/// Runs this silo as a member of a cluster: joins the membership table before the silo serves and becomes active once it
/// does; carries grain calls to their owners (<see cref="IGrainCallTransport"/>); after every membership change hands
/// over the activations another silo now owns and asks the streams held here to re-announce their sessions to their
/// grains' new owners; leaves gracefully on shutdown; and stops the host if the cluster declared this silo dead.
/// </summary>
/// <remarks>
/// Graceful leave, in <see cref="StoppingAsync"/> (before any service stops, so the server still answers): mark this
/// silo shutting down, hand every activation over (each writes its state), keep forwarding calls for
/// <see cref="ClusterOptions.HandoverGrace"/> while the other silos read the new status, then end the vehicle streams
/// held here so that they reconnect elsewhere.
/// </remarks>
public sealed partial class ClusterRuntime : IGrainCallTransport, IGrainActivationGate, IHostedLifecycleService, IGrpcServerStoppingSignal, IDisposable
{
    private readonly MembershipService _membership;
    private readonly RendezvousPlacementDirector _placement;
    private readonly SiloConnections _connections;
    private readonly IServiceProvider _services;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ClusterOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterRuntime> _logger;
    private readonly Channel<MembershipSnapshot> _changes = Channel.CreateBounded<MembershipSnapshot>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _streamsStopping = new();
    private ActorRuntime? _runtime;
    private RendezvousPlacement _handledPlacement = RendezvousPlacement.Empty;
    private Task _rebalancing = Task.CompletedTask;
    private CancellationTokenRegistration _deadRegistration;

    /// <summary>Creates the runtime (the DI container does; see <see cref="ClusterServiceCollectionExtensions.AddVehiclesCluster"/>).</summary>
    public ClusterRuntime(
        MembershipService membership,
        RendezvousPlacementDirector placement,
        SiloConnections connections,
        VehicleSessionDirectory localSessions,
        IServiceProvider services,
        IHostApplicationLifetime lifetime,
        IOptions<ClusterOptions> options,
        TimeProvider time,
        ILogger<ClusterRuntime> logger)
    {
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(options);
        _membership = membership;
        _placement = placement;
        _connections = connections;
        LocalSessions = localSessions;
        _services = services;
        _lifetime = lifetime;
        _options = options.Value;
        _time = time;
        _logger = logger;
        membership.SnapshotChanged += (_, snapshot) => _changes.Writer.TryWrite(snapshot);
    }

    /// <summary>This silo's generation.</summary>
    public SiloAddress LocalSilo => _membership.LocalSilo;

    /// <summary>The streams held by this silo.</summary>
    public VehicleSessionDirectory LocalSessions { get; }

    /// <inheritdoc />
    /// <remarks>Cancelled at the end of a graceful leave, so that streams (silo-to-silo calls, vehicles, watchers) outlive the hand-over.</remarks>
    public CancellationToken Stopping => _streamsStopping.Token;

    private ActorRuntime Runtime => _runtime ??= _services.GetRequiredService<ActorRuntime>();

    /// <inheritdoc />
    public void Send(GrainId target, GrainRequest request)
    {
        if (!_placement.TryGetOwner(target, out var owner))
        {
            request.TrySetException(new GrainUnavailableException($"No active silo owns grain {target} at the moment; retry."));
            return;
        }

        if (owner == LocalSilo)
        {
            Runtime.DispatchLocal(target, request);
            return;
        }

        Forward(owner, target, request, hops: 0);
    }

    /// <summary>Runs a call that arrived from another silo: here if this silo owns the grain (or the hop limit is reached), else at its owner.</summary>
    internal void Dispatch(GrainId target, GrainRequest request, uint hops)
    {
        // A leaving silo runs nothing it does not own, whatever the hop count: a silo that still counts it active sent
        // the call, and the owner in the leaver's view is the one the others are about to agree on.
        if ((hops >= _options.MaxForwardHops && !_placement.IsLeaving) || _placement.IsLocal(target)
            || !_placement.TryGetOwner(target, out var owner) || owner == LocalSilo)
        {
            Runtime.DispatchLocal(target, request);
            return;
        }

        Forward(owner, target, request, hops + 1);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Shortly after a membership change, a grain placed here may still be active on another silo: its previous owner,
    /// or any silo whose view lagged when the grain was called (silos read membership a heartbeat apart). Before
    /// activating it, ask the other live silos to release it: each reads the membership this silo saw, and writes and
    /// drops its activation if it has one. An unreachable silo (crashed) is not waited for beyond the probe timeout;
    /// storage ETags still fence whatever it might write.
    /// </remarks>
    public async ValueTask BeforeActivateAsync(GrainId grainId, CancellationToken cancellationToken)
    {
        if (_placement.MillisecondsSinceChange > ReleaseWindow.TotalMilliseconds)
        {
            return;
        }

        var snapshot = _membership.Snapshot;
        var others = snapshot.Members
            .Where(m => m.Address != LocalSilo && m.Status is SiloStatus.Active or SiloStatus.ShuttingDown)
            .Select(m => _connections.ReleaseAsync(m.Address.Endpoint, grainId, snapshot.Version, _options.ProbeTimeout * 2, cancellationToken))
            .ToList();
        if (others.Count > 0)
        {
            await Task.WhenAll(others);
        }
    }

    /// <summary>The previous owner's side of <see cref="BeforeActivateAsync"/>.</summary>
    internal async Task<bool> ReleaseAsync(GrainId grainId, long membershipVersion, CancellationToken cancellationToken)
    {
        if (_membership.Snapshot.Version < membershipVersion)
        {
            await _membership.RefreshAsync(cancellationToken);
        }

        if (_placement.IsLocal(grainId))
        {
            return false;
        }

        await Runtime.HandOverAsync(grainId).WaitAsync(cancellationToken);
        return true;
    }

    // Views converge within a heartbeat; a silo still writing a handed-over grain finishes within a few more.
    private TimeSpan ReleaseWindow => (_options.HeartbeatInterval * 3) + _options.SuspectAfter;

    /// <inheritdoc />
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await _membership.JoinAsync(cancellationToken);
        _deadRegistration = _membership.DeclaredDead.Register(static s => ((ClusterRuntime)s!).OnDeclaredDead(), this);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        // Active only now that the server listens: no silo forwards a call here before it can be answered.
        await _membership.ActivateAsync(cancellationToken);
        _rebalancing = Task.Run(() => RebalanceLoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Hand over first, announce after: until the table says shutting down, the other silos keep sending here and
            // this silo forwards each call once the grain's state is written, so no new owner activates from stale state.
            _placement.BeginLeave();
            var handedOver = await Runtime.RebalanceAsync(cancellationToken);
            await _membership.BeginLeaveAsync(cancellationToken);
            LogLeaving(_logger, LocalSilo, handedOver, _options.EffectiveHandoverGrace);
            await Task.Delay(_options.EffectiveHandoverGrace, _time, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogLeaveFailed(_logger, ex, LocalSilo);
        }
        finally
        {
            foreach (var session in LocalSessions.Sessions.ToList())
            {
                LocalSessions.EndSession(session.Vin, session.SessionId, SessionEndReason.SiloShuttingDown);
            }

            // Let the vehicle streams finish with their own status ("reconnect") before the server cuts what is left.
            for (var waited = 0; LocalSessions.Count > 0 && waited < 40; waited++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), _time, CancellationToken.None);
            }

            await _streamsStopping.CancelAsync();
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            await _rebalancing;
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            await _membership.StopAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The others will find this silo silent and declare it dead; stopping must not fail for it.
            LogLeaveFailed(_logger, ex, LocalSilo);
        }
    }

    /// <inheritdoc />
    public async Task StoppedAsync(CancellationToken cancellationToken) => await _deadRegistration.DisposeAsync();

    /// <inheritdoc />
    public void Dispose()
    {
        _stopping.Dispose();
        _streamsStopping.Dispose();
    }

    // A call for a grain whose activation here is still handing over (writing its state) waits for it: the new owner
    // then reads what this one wrote instead of activating from older state and being fenced later.
    private void Forward(SiloAddress owner, GrainId target, GrainRequest request, uint hops)
    {
        var handedOver = Runtime.WhenHandedOver(target);
        if (handedOver.IsCompleted)
        {
            _connections.SendCall(owner.Endpoint, target, request, hops);
            return;
        }

        _ = handedOver.ContinueWith(
            (_, state) =>
            {
                var (self, endpoint, grain, call, hopCount) = ((ClusterRuntime, string, GrainId, GrainRequest, uint))state!;
                self._connections.SendCall(endpoint, grain, call, hopCount);
            },
            (this, owner.Endpoint, target, request, hops),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task RebalanceLoopAsync(CancellationToken cancellationToken)
    {
        _handledPlacement = _placement.Placement;
        await foreach (var snapshot in _changes.Reader.ReadAllAsync(cancellationToken))
        {
            try
            {
                var previous = _handledPlacement;
                var current = _placement.Placement;
                _handledPlacement = current;
                var handedOver = await Runtime.RebalanceAsync(cancellationToken);
                    var reattached = 0;
                foreach (var session in LocalSessions.Sessions)
                {
                    var id = new GrainId("vehicle", session.Vin);
                    previous.TryGetOwner(id, out var before);
                    current.TryGetOwner(id, out var after);
                    if (before != after)
                    {
                        session.RequestReattach();
                        reattached++;
                    }
                }

                LogRebalanced(_logger, snapshot.Version, snapshot.ActiveSilos.Count, handedOver, reattached);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRebalanceFailed(_logger, ex, snapshot.Version);
            }
        }
    }

    private void OnDeclaredDead()
    {
        // This generation can never serve again; a supervisor restarts the process, which joins as a new generation.
        LogStoppingDead(_logger, LocalSilo);
        Environment.ExitCode = 3;
        _lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Membership version {Version}: {ActiveCount} active silos; handed over {HandedOver} activations, re-announcing {Reattached} vehicle streams")]
    private static partial void LogRebalanced(ILogger logger, long version, int activeCount, int handedOver, int reattached);

    [LoggerMessage(Level = LogLevel.Error, Message = "Applying membership version {Version} failed")]
    private static partial void LogRebalanceFailed(ILogger logger, Exception exception, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} leaving: handed over {HandedOver} activations; forwarding calls for {Grace} more")]
    private static partial void LogLeaving(ILogger logger, SiloAddress silo, int handedOver, TimeSpan grace);

    [LoggerMessage(Level = LogLevel.Error, Message = "Silo {Silo} could not leave the cluster gracefully")]
    private static partial void LogLeaveFailed(ILogger logger, Exception exception, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Silo {Silo} was declared dead by the cluster; stopping (restart the process to join as a new generation)")]
    private static partial void LogStoppingDead(ILogger logger, SiloAddress silo);
}
