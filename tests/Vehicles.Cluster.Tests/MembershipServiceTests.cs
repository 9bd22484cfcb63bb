using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Vehicles.Cluster.Tests;

public sealed class MembershipServiceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset _start = new(2026, 11, 22, 4, 0, 0, TimeSpan.Zero);

    // Timers off: each test steps every silo's refresh itself, so a silo it leaves alone is as silent as a killed one.
    private readonly FakeTimeProvider _clock = new(_start, fireTimers: false);
    private readonly string _schema = TestServers.UniqueName("cluster_test_");
    private readonly List<MembershipService> _services = [];
    private NpgsqlDataSource _dataSource = null!;

    public Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            await service.DisposeAsync();
        }

        await using (var command = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE"))
        {
            await command.ExecuteNonQueryAsync();
        }

        await _dataSource.DisposeAsync();
    }

    [Fact]
    public async Task Start_ThreeSilos_EverySiloSeesAllThreeActive()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var b = await StartSiloAsync("10.0.0.2:11111");
        var c = await StartSiloAsync("10.0.0.3:11111");

        await RefreshAllAsync(a, b, c);

        var expected = new[] { a.LocalSilo, b.LocalSilo, c.LocalSilo };
        Assert.Equal(expected, a.Snapshot.ActiveSilos);
        Assert.Equal(expected, b.Snapshot.ActiveSilos);
        Assert.Equal(expected, c.Snapshot.ActiveSilos);
        Assert.Equal(a.Snapshot.Version, c.Snapshot.Version);
    }

    [Fact]
    public async Task Start_WhenSnapshotChanges_RaisesSnapshotChangedWithNewVersion()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var seen = new List<MembershipSnapshot>();
        a.SnapshotChanged += (_, snapshot) => seen.Add(snapshot);

        var b = await StartSiloAsync("10.0.0.2:11111");
        await a.RefreshAsync(CancellationToken.None);
        await a.RefreshAsync(CancellationToken.None);

        var change = Assert.Single(seen);
        Assert.Equal([a.LocalSilo, b.LocalSilo], change.ActiveSilos);
        Assert.Same(change, a.Snapshot);
    }

    [Fact]
    public async Task FollowMembership_PlacesGrainsOverActiveSilosAndDropsADeadOne()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var directorOfA = RendezvousPlacementDirector.FollowMembership(a);
        var b = await StartSiloAsync("10.0.0.2:11111");
        await a.RefreshAsync(CancellationToken.None);
        var grains = Enumerable.Range(0, 1_000).Select(i => new Vehicles.Actors.GrainId("vehicle", "VIN" + i)).ToList();
        var localWithTwo = grains.Count(directorOfA.IsLocal);

        await b.StopAsync(CancellationToken.None);
        await a.RefreshAsync(CancellationToken.None);
        var localWithOne = grains.Count(directorOfA.IsLocal);

        Assert.Equal(a.LocalSilo, directorOfA.LocalSilo);
        Assert.InRange(localWithTwo, 400, 600);
        Assert.Equal(grains.Count, localWithOne);
    }

    [Fact]
    public async Task Stop_GracefulLeave_MarksSiloDeadAndRemovesItFromActiveSilos()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var b = await StartSiloAsync("10.0.0.2:11111");
        var table = new PostgresMembershipTable(_dataSource, _schema);

        await b.StopAsync(CancellationToken.None);
        await a.RefreshAsync(CancellationToken.None);

        Assert.Equal([a.LocalSilo], a.Snapshot.ActiveSilos);
        Assert.Equal(SiloStatus.Dead, a.Snapshot.Members.Single(m => m.Address == b.LocalSilo).Status);
        Assert.False(await table.TransitionAsync(b.LocalSilo, SiloStatus.ShuttingDown, [SiloStatus.Joining, SiloStatus.Active], CancellationToken.None));
    }

    [Fact]
    public async Task Refresh_WhenSiloStopsHeartbeating_DeclaresItDeadWithinFiveSeconds()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var b = await StartSiloAsync("10.0.0.2:11111");
        var c = await StartSiloAsync("10.0.0.3:11111");
        await RefreshAllAsync(a, b, c);
        var lastHeartbeatOfC = _clock.GetUtcNow();
        var table = new PostgresMembershipTable(_dataSource, _schema);

        TimeSpan? declaredAfter = null;
        for (var second = 1; second <= 5 && declaredAfter is null; second++)
        {
            await StepOneSecondAsync(a, b);
            if ((await table.ReadAsync(CancellationToken.None)).Rows.Single(r => r.Address == c.LocalSilo).Status == SiloStatus.Dead)
            {
                declaredAfter = _clock.GetUtcNow() - lastHeartbeatOfC;
            }
        }

        await StepOneSecondAsync(a, b);

        // Suspected once older than 3 s, i.e. at the 4 s round, where both survivors vote; a, which voted first, sees
        // the outcome on its next round.
        Assert.Equal(TimeSpan.FromSeconds(4), declaredAfter);
        Assert.Equal([a.LocalSilo, b.LocalSilo], a.Snapshot.ActiveSilos);
        Assert.Equal([a.LocalSilo, b.LocalSilo], b.Snapshot.ActiveSilos);
        Assert.Equal(SiloStatus.Dead, a.Snapshot.Members.Single(m => m.Address == c.LocalSilo).Status);
    }

    [Fact]
    public async Task Refresh_WhenOneOfThreeSilosVotes_DoesNotDeclareDeadAlone()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var b = await StartSiloAsync("10.0.0.2:11111");
        var c = await StartSiloAsync("10.0.0.3:11111");
        for (var second = 1; second <= 3; second++)
        {
            await StepOneSecondAsync(a, b);
        }

        await StepOneSecondAsync(a);

        // Snapshots follow status changes only, so the vote itself is read from the table.
        var read = await new PostgresMembershipTable(_dataSource, _schema).ReadAsync(CancellationToken.None);
        var rowOfC = read.Rows.Single(r => r.Address == c.LocalSilo);
        Assert.Equal(SiloStatus.Active, rowOfC.Status);
        Assert.Equal(1, rowOfC.Votes);
        Assert.Equal([a.LocalSilo, b.LocalSilo, c.LocalSilo], a.Snapshot.ActiveSilos);
    }

    [Fact]
    public async Task Refresh_WhenOnlyPeerStopsHeartbeating_SurvivorDeclaresItDeadAlone()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var b = await StartSiloAsync("10.0.0.2:11111");

        _clock.Advance(TimeSpan.FromSeconds(3));
        await a.RefreshAsync(CancellationToken.None);
        var activeAtThreeSeconds = a.Snapshot.ActiveSilos;
        _clock.Advance(TimeSpan.FromSeconds(1));
        await a.RefreshAsync(CancellationToken.None);

        Assert.Equal([a.LocalSilo, b.LocalSilo], activeAtThreeSeconds);
        Assert.Equal([a.LocalSilo], a.Snapshot.ActiveSilos);
    }

    [Fact]
    public async Task Refresh_WhenSuspectHeartbeatsAgain_ClearsVotes()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var b = await StartSiloAsync("10.0.0.2:11111");
        var c = await StartSiloAsync("10.0.0.3:11111");
        for (var second = 1; second <= 3; second++)
        {
            await StepOneSecondAsync(a, b);
        }

        await StepOneSecondAsync(a, c, b);

        var read = await new PostgresMembershipTable(_dataSource, _schema).ReadAsync(CancellationToken.None);
        var rowOfC = read.Rows.Single(r => r.Address == c.LocalSilo);
        Assert.Equal(SiloStatus.Active, rowOfC.Status);
        Assert.Equal(0, rowOfC.Votes);
    }

    [Fact]
    public async Task Refresh_WhenSiloFindsItselfDead_CancelsDeclaredDeadAndNeverReactivates()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var b = await StartSiloAsync("10.0.0.2:11111");
        _clock.Advance(TimeSpan.FromSeconds(4));
        await a.RefreshAsync(CancellationToken.None);
        var table = new PostgresMembershipTable(_dataSource, _schema);

        await b.RefreshAsync(CancellationToken.None);
        var reactivated = await table.TransitionAsync(b.LocalSilo, SiloStatus.Active, [SiloStatus.Joining, SiloStatus.ShuttingDown], CancellationToken.None);
        await b.RefreshAsync(CancellationToken.None);
        await a.RefreshAsync(CancellationToken.None);

        Assert.True(b.DeclaredDead.IsCancellationRequested);
        Assert.False(reactivated);
        Assert.Equal(SiloStatus.Dead, a.Snapshot.Members.Single(m => m.Address == b.LocalSilo).Status);
        Assert.Equal([a.LocalSilo], a.Snapshot.ActiveSilos);
    }

    [Fact]
    public async Task Start_WhenSiloRestartsAtSameEndpoint_GetsNewGenerationAndOldOneIsDead()
    {
        var a = await StartSiloAsync("10.0.0.1:11111");
        var crashed = await StartSiloAsync("10.0.0.2:11111");

        // The restarted process's clock reads earlier than the old start: the generation must still grow.
        _clock.Advance(TimeSpan.FromSeconds(-30));
        var restarted = await StartSiloAsync("10.0.0.2:11111");
        await a.RefreshAsync(CancellationToken.None);

        Assert.Equal(crashed.LocalSilo.Generation + 1, restarted.LocalSilo.Generation);
        Assert.Equal(_start.UtcTicks, crashed.LocalSilo.Generation);
        Assert.Equal([a.LocalSilo, restarted.LocalSilo], a.Snapshot.ActiveSilos);
        Assert.Equal(SiloStatus.Dead, a.Snapshot.Members.Single(m => m.Address == crashed.LocalSilo).Status);
    }

    [Fact]
    public async Task Start_HeartbeatLoop_WritesHeartbeatOnEveryTickOfTheClock()
    {
        var clock = new FakeTimeProvider(_start);
        var a = await StartSiloAsync("10.0.0.1:11111", clock);
        var table = new PostgresMembershipTable(_dataSource, _schema);

        clock.Advance(TimeSpan.FromSeconds(1));
        var expected = clock.GetUtcNow().UtcTicks;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var heartbeat = 0L;
        for (var attempt = 0; attempt < 500 && DateTime.UtcNow < deadline; attempt++)
        {
            heartbeat = (await table.ReadAsync(CancellationToken.None)).Rows.Single().HeartbeatTicks;
            if (heartbeat == expected)
            {
                break;
            }

            await Task.Delay(20);
        }

        Assert.Equal(expected, heartbeat);
        Assert.Equal(_start.UtcTicks, a.LocalSilo.Generation);
    }

    [Fact]
    public async Task Refresh_WhenAPeerHeartbeatsButMissesThreeProbesInARow_IsDeclaredDead()
    {
        var prober = new FakeProber();
        var a = await StartSiloAsync("10.0.0.1:11111", prober: prober);
        var b = await StartSiloAsync("10.0.0.2:11111", prober: prober);
        var c = await StartSiloAsync("10.0.0.3:11111", prober: prober);
        prober.Unreachable.Add("10.0.0.3:11111");

        var statuses = new List<SiloStatus>();
        for (var round = 1; round <= 3; round++)
        {
            // c heartbeats first every round: only the probes can tell that the others cannot reach it.
            await StepOneSecondAsync(c, a, b);
            statuses.Add(await StatusOfAsync(c.LocalSilo));
        }

        Assert.Equal([SiloStatus.Active, SiloStatus.Active, SiloStatus.Dead], statuses);
    }

    [Fact]
    public async Task Refresh_WhenALeavingSiloStopsAnsweringProbes_WaitsForItsHeartbeatToStop()
    {
        var prober = new FakeProber();
        var a = await StartSiloAsync("10.0.0.1:11111", prober: prober);
        var b = await StartSiloAsync("10.0.0.2:11111", prober: prober);
        var c = await StartSiloAsync("10.0.0.3:11111", prober: prober);
        await c.BeginLeaveAsync(CancellationToken.None);
        prober.Unreachable.Add("10.0.0.3:11111");

        for (var round = 1; round <= 5; round++)
        {
            await StepOneSecondAsync(c, a, b);
        }

        Assert.Equal(SiloStatus.ShuttingDown, await StatusOfAsync(c.LocalSilo));
    }

    [Fact]
    public async Task Refresh_WhenAStaleSiloStillAnswersProbes_DoesNotVoteAgainstIt()
    {
        var prober = new FakeProber();
        var a = await StartSiloAsync("10.0.0.1:11111", prober: prober);
        var b = await StartSiloAsync("10.0.0.2:11111", prober: prober);
        var c = await StartSiloAsync("10.0.0.3:11111", prober: prober);

        // c cannot reach the database (no heartbeats) but serves: probes keep it alive.
        for (var round = 1; round <= 6; round++)
        {
            await StepOneSecondAsync(a, b);
        }

        var read = await new PostgresMembershipTable(_dataSource, _schema).ReadAsync(CancellationToken.None);
        Assert.Equal(SiloStatus.Active, read.Rows.Single(r => r.Address == c.LocalSilo).Status);
        Assert.Equal(0, read.Rows.Single(r => r.Address == c.LocalSilo).Votes);
    }

    private async Task<SiloStatus> StatusOfAsync(SiloAddress silo)
        => (await new PostgresMembershipTable(_dataSource, _schema).ReadAsync(CancellationToken.None)).Rows.Single(r => r.Address == silo).Status;

    /// <summary>Answers for every silo except the unreachable endpoints.</summary>
    private sealed class FakeProber : ISiloProber
    {
        public System.Collections.Concurrent.ConcurrentBag<string> Unreachable { get; } = [];

        public Task<bool> ProbeAsync(SiloAddress silo, CancellationToken cancellationToken) => Task.FromResult(!Unreachable.Contains(silo.Endpoint));
    }

    private async Task<MembershipService> StartSiloAsync(string endpoint, TimeProvider? clock = null, ISiloProber? prober = null)
    {
        var service = new MembershipService(
            _dataSource,
            Options.Create(new MembershipOptions { Schema = _schema, Endpoint = endpoint }),
            clock ?? _clock,
            NullLogger<MembershipService>.Instance,
            prober);
        _services.Add(service);
        await service.StartAsync(CancellationToken.None);
        return service;
    }

    private async Task StepOneSecondAsync(params MembershipService[] services)
    {
        _clock.Advance(TimeSpan.FromSeconds(1));
        await RefreshAllAsync(services);
    }

    private static async Task RefreshAllAsync(params MembershipService[] services)
    {
        foreach (var service in services)
        {
            await service.RefreshAsync(CancellationToken.None);
        }
    }
}
