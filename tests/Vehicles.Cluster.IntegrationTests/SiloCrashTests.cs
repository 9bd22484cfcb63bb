using System.Diagnostics;
using System.Globalization;
using Grpc.Core;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>kill -9 of one silo of three under load: detection, failover and what must survive it.</summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class SiloCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan _recoveryBound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan _detectionBound = TimeSpan.FromSeconds(5);

    private readonly ClusterHarness _cluster = ClusterHarness.Create(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task KillOneOfThree_UnderLoad_EveryVehicleServedAgainWithinTenSeconds_NothingAcknowledgedLost()
    {
        var silos = await _cluster.StartSilosAsync(3);
        var rotation = new SiloRotation(silos);
        await using var load = new LoadDriver(_cluster, rotation);
        await load.StartAsync(TimeSpan.FromSeconds(30));
        var checkpointed = await Poll.UntilAsync(() => Task.FromResult(load.Vehicles.All(v => v.HighestDurableAcked > 0)), TimeSpan.FromSeconds(15));
        new Expectations(_cluster, load).Require(checkpointed, "not every vehicle was acknowledged a durable report before the kill");
        await load.WaitForCallsAsync(40);

        var victim = silos[1];
        var streamsOnVictim = load.Vehicles.Where(v => v.Silo == victim.Endpoint).Select(v => v.Vin).ToHashSet(StringComparer.Ordinal);
        rotation.Remove(victim);
        var killedAt = load.Mark();
        victim.Kill();
        var durableBeforeKill = load.Vehicles.ToDictionary(v => v.Vin, v => v.HighestDurableAcked, StringComparer.Ordinal);
        var acceptedBeforeKill = load.AcceptedCommands.Count;
        output.WriteLine(ClusterHarness.Now() + " killed " + victim.Name + " at +" + load.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)
            + " s; " + streamsOnVictim.Count + " vehicle streams were on it, " + acceptedBeforeKill + " commands accepted so far");
        var survivors = rotation.Members;
        var detection = _cluster.WaitForStatusAsync(victim, Vehicles.Api.V1.SiloStatus.Dead, killedAt, TimeSpan.FromSeconds(20));
        var served = await Task.WhenAll(load.Vehicles.Select(v => FirstGetVehicleAsync(v.Vin, survivors, killedAt)));
        var reporting = await Poll.UntilAsync(() => Task.FromResult(load.Vehicles.All(v => v.FirstAckAfterMark is not null)), TimeSpan.FromSeconds(20));
        var recovery = load.Vehicles.Select((v, i) => (v.Vin, Time: Recovery(served[i], v.FirstAckAfterMark, killedAt))).ToList();
        var detected = await detection;
        output.WriteLine("every survivor listed " + victim.Name + " DEAD " + (detected?.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) ?? "never (20 s)") + " s after the kill");
        await _cluster.WaitForActiveMembersAsync(2, TimeSpan.FromSeconds(20));
        await load.WaitForCallsAsync(40);

        // Every command accepted so far, before or after the kill, reaches its vehicle: streams on the survivors whose
        // grain lived on the victim announce themselves to the grain's new activation.
        var undelivered = await load.UndeliveredAsync(load.AcceptedCommands, _recoveryBound);
        await load.StopAsync();
        var running = _cluster.Running;
        var missing = await Verify.MissingCommandsAsync(_cluster, running, load.AcceptedCommands);
        var regressed = await Verify.DurableRegressionsAsync(_cluster, running, durableBeforeKill);
        Report(recovery, streamsOnVictim, load);

        var unrecovered = recovery.Where(r => r.Time is null).Select(r => r.Vin);
        var slowest = recovery.Max(r => r.Time ?? TimeSpan.MaxValue);
        var expect = new Expectations(_cluster, load);
        expect.None(unrecovered, "vehicles not served again (GetVehicle through a survivor and an acked report) within 20 s of the kill");
        expect.That(
            slowest <= _recoveryBound,
            "the slowest vehicle was served again " + slowest.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s after the kill; the bound is " + _recoveryBound);
        expect.None(missing, "accepted commands not found after the kill");
        expect.None(undelivered, "accepted commands not delivered to their (connected) vehicle within " + _recoveryBound);
        expect.None(regressed, "vehicles whose stored durable_sequence fell below what was acknowledged durable before the kill");
        expect.None(
            load.Vehicles.SelectMany(v => v.DurableRegressions.Select(p => v.Vin + " " + p)),
            "reconnects whose Welcome went back on an acknowledged durable sequence");
        expect.That(reporting, "not every vehicle had a report acked after the kill");
        expect.That(detected <= _detectionBound, "the survivors did not all list the killed silo DEAD within " + _detectionBound);
        expect.Assert();
    }

    /// <summary>GetVehicle through the survivors in turn until it succeeds; the time since the kill, or null after 20 s.</summary>
    private async Task<TimeSpan?> FirstGetVehicleAsync(string vin, IReadOnlyList<SiloProcess> survivors, long killedAt)
    {
        var token = _cluster.OperatorToken();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        for (var attempt = 0; attempt < 200 && DateTime.UtcNow < deadline; attempt++)
        {
            var silo = survivors[attempt % survivors.Count];
            try
            {
                await new ApiClient(silo.Invoker, token).GetVehicleAsync(vin, TimeSpan.FromSeconds(2));
                return Stopwatch.GetElapsedTime(killedAt);
            }
            catch (RpcException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }
        }

        return null;
    }

    private static TimeSpan? Recovery(TimeSpan? served, long? firstAck, long killedAt) =>
        served is { } read && firstAck is { } ack ? TimeSpan.FromTicks(Math.Max(read.Ticks, Stopwatch.GetElapsedTime(killedAt, ack).Ticks)) : null;

    private void Report(List<(string Vin, TimeSpan? Time)> recovery, HashSet<string> streamsOnVictim, LoadDriver load)
    {
        static string Describe(IEnumerable<TimeSpan?> times)
        {
            var sorted = times.Select(t => t?.TotalSeconds ?? double.PositiveInfinity).Order().ToList();
            return sorted.Count == 0
                ? "none"
                : string.Create(
                    CultureInfo.InvariantCulture,
                    $"{sorted.Count} vehicles, median {sorted[sorted.Count / 2]:F2} s, p90 {sorted[(int)(sorted.Count * 0.9)]:F2} s, max {sorted[^1]:F2} s");
        }

        output.WriteLine("recovery after kill -9 (GetVehicle through a survivor and a report acked again):");
        output.WriteLine("  all:                   " + Describe(recovery.Select(r => r.Time)));
        output.WriteLine("  streams on the victim: " + Describe(recovery.Where(r => streamsOnVictim.Contains(r.Vin)).Select(r => r.Time)));
        output.WriteLine("  streams on survivors:  " + Describe(recovery.Where(r => !streamsOnVictim.Contains(r.Vin)).Select(r => r.Time)));
        foreach (var (vin, time) in recovery.OrderByDescending(r => r.Time ?? TimeSpan.MaxValue).Take(5))
        {
            output.WriteLine("  slow: " + vin + " " + (time?.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) ?? "never") + " s");
        }

        output.WriteLine(load.Summary());
    }
}
