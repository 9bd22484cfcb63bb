using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Vehicles.Cluster;

/// <summary>
/// Silo membership over a PostgreSQL table, in the manner of Orleans' ADO.NET clustering. On start the silo registers a
/// new generation (joining), reads the table and becomes active; then every <see cref="MembershipOptions.HeartbeatInterval"/>
/// it writes its heartbeat, reads the table, publishes a <see cref="MembershipSnapshot"/> when the table version moved,
/// and votes against silos whose heartbeat is older than <see cref="MembershipOptions.SuspectAfter"/>. A silo that
/// finds itself declared dead stops taking part and cancels <see cref="DeclaredDead"/>: the host must then stop,
/// because that generation can never become active again.
/// </summary>
public sealed partial class MembershipService : IHostedService, IAsyncDisposable
{
    private static readonly SiloStatus[] _live = [SiloStatus.Joining, SiloStatus.Active, SiloStatus.ShuttingDown];

    private readonly PostgresMembershipTable _table;
    private readonly MembershipOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ISiloProber _prober;
    private readonly ILogger<MembershipService> _logger;
    private readonly CancellationTokenSource _declaredDead = new();
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private CancellationTokenSource? _loopStop;
    private Task _loop = Task.CompletedTask;
    private MembershipSnapshot _snapshot = MembershipSnapshot.Empty;
    private SiloAddress _localSilo;
    private readonly Dictionary<SiloAddress, int> _missedProbes = [];

    /// <summary>Creates the service; nothing touches the database before <see cref="StartAsync"/>.</summary>
    public MembershipService(
        NpgsqlDataSource dataSource,
        IOptions<MembershipOptions> options,
        TimeProvider timeProvider,
        ILogger<MembershipService> logger,
        ISiloProber? prober = null,
        Func<long>? activationCount = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _options.Validate();
        _table = new PostgresMembershipTable(dataSource, _options.Schema);
        _timeProvider = timeProvider;
        _logger = logger;
        _prober = prober ?? new NoSiloProber();
        _activationCount = activationCount ?? (static () => 0);
    }

    private readonly Func<long> _activationCount;

    /// <summary>Raised after a refresh that read a new table version; handlers run on the refresh path and must be quick.</summary>
    public event EventHandler<MembershipSnapshot>? SnapshotChanged;

    /// <summary>This silo's generation; <c>default</c> before <see cref="StartAsync"/>.</summary>
    public SiloAddress LocalSilo => _localSilo;

    /// <summary>The latest snapshot read.</summary>
    public MembershipSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>Cancelled once this silo finds its generation declared dead (or removed) by the others.</summary>
    public CancellationToken DeclaredDead => _declaredDead.Token;

    /// <summary>Creates the schema if needed, registers a new generation, reads the table, becomes active and starts heartbeating.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await JoinAsync(cancellationToken);
        await ActivateAsync(cancellationToken);
    }

    /// <summary>
    /// The first half of <see cref="StartAsync"/>: creates the schema if needed, registers a new generation as joining and
    /// reads the table. A silo calls it before it serves, and <see cref="ActivateAsync"/> once it does.
    /// </summary>
    public async Task JoinAsync(CancellationToken cancellationToken)
    {
        await _table.EnsureCreatedAsync(cancellationToken);
        var now = _timeProvider.GetUtcNow().UtcTicks;
        var generation = await _table.RegisterAsync(_options.Endpoint, now, now - _options.DeadRowRetention.Ticks, cancellationToken);
        _localSilo = new SiloAddress(_options.Endpoint, generation);
        LogJoining(_logger, _localSilo);

        Publish(await _table.ReadAsync(cancellationToken));
    }

    /// <summary>The second half of <see cref="StartAsync"/>: becomes active (placement starts choosing this silo) and starts heartbeating.</summary>
    public async Task ActivateAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        if (!await _table.TransitionAsync(_localSilo, SiloStatus.Active, [SiloStatus.Joining], cancellationToken))
        {
            throw new InvalidOperationException($"Silo {_localSilo} was declared dead while joining.");
        }

        Publish(await _table.ReadAsync(cancellationToken));
        LogActive(_logger, _localSilo);

        _loopStop = new CancellationTokenSource();
        _loop = RunAsync(_loopStop.Token);
    }

    /// <summary>Leaves gracefully: shutting down (placement stops choosing this silo), then dead.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loopStop is null)
        {
            return;
        }

        await BeginLeaveAsync(cancellationToken);
        await StopLoopAsync();
        await _table.TransitionAsync(_localSilo, SiloStatus.Dead, _live, cancellationToken);
        LogLeft(_logger, _localSilo);
    }

    /// <summary>
    /// Marks this silo shutting down: other silos stop placing grains here at their next read, while it keeps
    /// heartbeating (and serving forwarded calls) until <see cref="StopAsync"/>.
    /// </summary>
    public async Task BeginLeaveAsync(CancellationToken cancellationToken)
    {
        if (_localSilo.Endpoint is null || _declaredDead.IsCancellationRequested)
        {
            return;
        }

        if (await _table.TransitionAsync(_localSilo, SiloStatus.ShuttingDown, [SiloStatus.Joining, SiloStatus.Active], cancellationToken))
        {
            LogShuttingDown(_logger, _localSilo);
        }

        Publish(await _table.ReadAsync(cancellationToken));
    }

    /// <summary>Reads the table now (for an admin view: activation counts and heartbeats are fresh, unlike <see cref="Snapshot"/>'s).</summary>
    public async Task<IReadOnlyList<SiloEntry>> ReadMembersAsync(CancellationToken cancellationToken)
        => ToEntries(await _table.ReadAsync(cancellationToken));

    /// <summary>
    /// One round: heartbeat, read, and a vote against every stale silo. The heartbeat loop calls it; tests call it to step
    /// a fake clock deterministically. Rounds never overlap.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (_localSilo.Endpoint is null)
        {
            throw new InvalidOperationException("The membership service has not registered yet: call StartAsync first.");
        }

        await _refreshGate.WaitAsync(cancellationToken);
        try
        {
            if (_declaredDead.IsCancellationRequested)
            {
                return;
            }

            var now = _timeProvider.GetUtcNow().UtcTicks;
            var read = await _table.HeartbeatAndReadAsync(_localSilo, now, _activationCount(), cancellationToken);
            if (!read.SelfAlive)
            {
                Publish(read);
                LogDeclaredDead(_logger, _localSilo);
                await _declaredDead.CancelAsync();
                return;
            }

            if (await VoteAgainstStaleAsync(read, now, cancellationToken))
            {
                read = await _table.ReadAsync(cancellationToken);
            }

            Publish(read);
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync();
        _declaredDead.Dispose();
        _refreshGate.Dispose();
    }

    private async Task<bool> VoteAgainstStaleAsync(TableRead read, long now, CancellationToken cancellationToken)
    {
        var limit = _options.SuspectAfter.Ticks;
        var changed = false;
        var probing = _prober is not NoSiloProber;
        var others = read.Rows.Where(r => r.Status != SiloStatus.Dead && r.Address != _localSilo).ToList();
        var answers = probing
            ? await Task.WhenAll(others.Select(r => _prober.ProbeAsync(r.Address, cancellationToken)))
            : new bool[others.Count];
        foreach (var address in _missedProbes.Keys.Where(a => !others.Any(r => r.Address == a)).ToList())
        {
            _missedProbes.Remove(address);
        }

        for (var i = 0; i < others.Count; i++)
        {
            var row = others[i];
            var missed = answers[i] ? 0 : _missedProbes.GetValueOrDefault(row.Address) + 1;
            _missedProbes[row.Address] = missed;
            var stale = now - row.HeartbeatTicks > limit;
            // A leaving silo may stop answering probes while it still heartbeats (its server drains): only its heartbeat counts.
            var suspected = !answers[i] && (stale || (probing && missed >= _options.MissedProbesLimit && row.Status != SiloStatus.ShuttingDown));
            if (!suspected)
            {
                continue;
            }

            // Only silos that are themselves healthy can be counted on to vote; when the rest are stale too, the
            // survivors decide alone rather than waiting for votes that will never come.
            var healthyVoters = read.Rows.Count(r => r.Status != SiloStatus.Dead && r.Address != row.Address && now - r.HeartbeatTicks <= limit);
            var needed = Math.Max(1, Math.Min(_options.VotesForDeath, healthyVoters));
            var status = await _table.VoteAsync(_localSilo, row.Address, row.HeartbeatTicks, needed, cancellationToken);
            if (status is null)
            {
                continue;
            }

            LogVoted(_logger, row.Address, TimeSpan.FromTicks(now - row.HeartbeatTicks), needed);
            if (status == SiloStatus.Dead)
            {
                LogDeclaredOtherDead(_logger, row.Address);
                changed = true;
            }
        }

        return changed;
    }

    private void Publish(TableRead read)
    {
        var current = Snapshot;
        if (read.Version == current.Version)
        {
            return;
        }

        var snapshot = new MembershipSnapshot(read.Version, ToEntries(read));
        Volatile.Write(ref _snapshot, snapshot);
        LogSnapshot(_logger, snapshot.Version, snapshot.ActiveSilos.Count);
        SnapshotChanged?.Invoke(this, snapshot);
    }

    private static SiloEntry[] ToEntries(TableRead read)
        => [.. read.Rows.Select(r => new SiloEntry(r.Address, r.Status, new DateTimeOffset(r.HeartbeatTicks, TimeSpan.Zero), r.Votes, r.Activations))];

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _timeProvider);
        try
        {
            while (!_declaredDead.IsCancellationRequested && await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await RefreshAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A missed heartbeat is survivable (others wait SuspectAfter); keep trying on the next tick.
                    LogRefreshFailed(_logger, ex, _localSilo);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task StopLoopAsync()
    {
        var stop = Interlocked.Exchange(ref _loopStop, null);
        if (stop is null)
        {
            return;
        }

        await stop.CancelAsync();
        await _loop;
        stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} joining the cluster")]
    private static partial void LogJoining(ILogger logger, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} is active")]
    private static partial void LogActive(ILogger logger, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} shutting down")]
    private static partial void LogShuttingDown(ILogger logger, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} left the cluster")]
    private static partial void LogLeft(ILogger logger, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Silo {Silo} was declared dead by the cluster; it must stop")]
    private static partial void LogDeclaredDead(ILogger logger, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Voted against silo {Silo}: no heartbeat for {Age}, {Needed} votes declare it dead")]
    private static partial void LogVoted(ILogger logger, SiloAddress silo, TimeSpan age, int needed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} declared dead")]
    private static partial void LogDeclaredOtherDead(ILogger logger, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Membership version {Version}: {ActiveCount} active silos")]
    private static partial void LogSnapshot(ILogger logger, long version, int activeCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Membership refresh of silo {Silo} failed")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, SiloAddress silo);
}
