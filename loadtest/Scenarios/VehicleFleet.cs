using System.Globalization;
using HdrHistogram;

namespace Vehicles.LoadTest;

/// <summary>
/// A scenario's simulated vehicles: generated VINs, one <see cref="SimulatedVehicle"/> each, connected in parallel,
/// reconnected with back-off when the server drops them, and checked after the run.
/// </summary>
public sealed class VehicleFleet : IAsyncDisposable
{
    private readonly SimulatedVehicle[] _vehicles;
    private readonly ScenarioContext _context;
    private readonly Gauge _connected;
    private readonly Gauge _reconnects;
    private readonly CancellationTokenSource _closing = new();

    private VehicleFleet(SimulatedVehicle[] vehicles, string fleetId, ScenarioContext context)
    {
        FleetId = fleetId;
        _vehicles = vehicles;
        _context = context;
        _connected = context.Gauge("connected");
        _reconnects = context.Gauge("reconnects");
    }

    /// <summary>The vehicles, in VIN order of generation.</summary>
    public IReadOnlyList<SimulatedVehicle> Vehicles => _vehicles;

    /// <summary>
    /// The fleet the vehicles belong to (their tokens name it): <c>lt-</c> and the VINs' run-specific descriptor, so
    /// that a fleet watch sees this run's vehicles only.
    /// </summary>
    public string FleetId { get; }

    /// <summary>How many vehicles there are.</summary>
    public int Count => _vehicles.Length;

    /// <summary>The vehicle a step uses: the closed-model worker's own, or the next in turn for open-model arrivals.</summary>
    public SimulatedVehicle For(StepContext step) =>
        _vehicles[(int)((step.Worker >= 0 ? step.Worker : step.Sequence) % _vehicles.Length)];

    /// <summary>Creates <paramref name="count"/> vehicles and connects them, <paramref name="parallelism"/> at a time.</summary>
    /// <exception cref="InvalidOperationException">No vehicle could connect.</exception>
    public static async Task<VehicleFleet> ConnectAsync(
        ApiConnection api, ScenarioContext context, int count, int parallelism, VehicleBehaviour behaviour, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        var vins = VinGenerator.CreateRandom(Random.Shared);
        var fleetId = "lt-" + vins.Descriptor.ToLowerInvariant();
        var vehicles = new SimulatedVehicle[count];
        for (var i = 0; i < count; i++)
        {
            var index = i;
            var vin = vins.Create(i);
            vehicles[i] = new SimulatedVehicle(vin, HashCode.Combine(vin), () => api.ForVehicle(index), api.VehicleToken(vin, fleetId), behaviour, context.TimeProvider);
        }

        var fleet = new VehicleFleet(vehicles, fleetId, context);
        var failures = context.Gauge("connect_failures");
        Exception? lastError = null;
        await Parallel.ForEachAsync(
            vehicles,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (vehicle, token) =>
            {
                try
                {
                    await fleet.ConnectOneAsync(vehicle, token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Increment();
                    lastError = e;
                }
            });

        if (fleet._connected.Value == 0)
        {
            await fleet.DisposeAsync();
            throw new InvalidOperationException(
                $"Scenario '{context.ScenarioName}': no vehicle could connect to {api.Address}: {lastError?.Message}", lastError);
        }

        return fleet;
    }

    /// <summary>Drops every vehicle's stream at once, reconnects them all concurrently and returns how long it took.</summary>
    /// <param name="perVehicle">Receives each vehicle's reconnect time.</param>
    /// <param name="cancellationToken">Stops reconnecting.</param>
    /// <returns>The time from the drop until every vehicle was connected again, and how many could not reconnect.</returns>
    public async Task<(TimeSpan Elapsed, int Failed)> StormAsync(IRecorder perVehicle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(perVehicle);
        await Task.WhenAll(_vehicles.Select(async v =>
        {
            if (v.IsConnected)
            {
                _connected.Decrement();
            }

            await v.DropAsync();
        }));
        var time = _context.TimeProvider;
        var start = time.GetTimestamp();
        var failed = 0;
        await Task.WhenAll(_vehicles.Select(async v =>
        {
            try
            {
                await ConnectOneAsync(v, cancellationToken);
                perVehicle.RecordMicroseconds((long)time.GetElapsedTime(start).TotalMicroseconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Interlocked.Increment(ref failed);
            }
        }));
        return (time.GetElapsedTime(start), failed);
    }

    /// <summary>
    /// Checks, after the run, that no acknowledged-durable report is missing from stored state (GetVehicle's durable
    /// sequence is at least the highest durable sequence each vehicle was told) and that every report attempt ended
    /// as acked or failed.
    /// </summary>
    public async Task VerifyAsync(OperatorClient operators, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operators);
        long sent = 0, acked = 0, failed = 0;
        foreach (var v in _vehicles)
        {
            sent += v.ReportsSent;
            acked += v.ReportsAcked;
            failed += v.ReportsFailed;
        }

        _context.Gauge("reports_sent").Set(sent);
        _context.Gauge("reports_acked").Set(acked);
        _context.Gauge("reports_failed").Set(failed);
        _context.Gauge("throttled").Set(_vehicles.Sum(v => v.Throttled));
        if (sent != acked + failed)
        {
            _context.ReportDiscrepancy(
                "unreconciled-reports",
                string.Create(CultureInfo.InvariantCulture, $"{sent} reports sent but {acked} acked + {failed} failed = {acked + failed}"));
        }

        long durableTotal = 0;
        await Parallel.ForEachAsync(
            _vehicles.Where(v => v.HighestDurableSequence > 0),
            new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (vehicle, token) =>
            {
                var expected = vehicle.HighestDurableSequence;
                try
                {
                    var stored = await operators.GetVehicleAsync(vehicle.Vin, token);
                    Interlocked.Add(ref durableTotal, (long)stored.DurableSequence);
                    if (stored.DurableSequence < expected)
                    {
                        _context.ReportDiscrepancy(
                            "lost-durable-report",
                            string.Create(CultureInfo.InvariantCulture, $"{vehicle.Vin}: acked durable up to {expected}, stored durable_sequence {stored.DurableSequence}"));
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _context.ReportDiscrepancy(
                        "lost-durable-report",
                        string.Create(CultureInfo.InvariantCulture, $"{vehicle.Vin}: acked durable up to {expected}, GetVehicle failed: {CallErrors.StatusName(e)} {e.Message}"));
                }
            });
        _context.Gauge("durable_stored").Set(durableTotal);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await Parallel.ForEachAsync(_vehicles, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (v, _) => await v.DisconnectAsync());
        foreach (var v in _vehicles)
        {
            await v.DisposeAsync();
        }

        _connected.Set(0);
        _closing.Dispose();
    }

    private async Task ConnectOneAsync(SimulatedVehicle vehicle, CancellationToken cancellationToken)
    {
        await vehicle.ConnectAsync(cancellationToken);
        _connected.Increment();
        vehicle.Disconnected = OnDisconnected;
    }

    private void OnDisconnected(SimulatedVehicle vehicle, Exception? error)
    {
        _connected.Decrement();
        if (!_closing.IsCancellationRequested)
        {
            _ = ReconnectAsync(vehicle);
        }
    }

    private async Task ReconnectAsync(SimulatedVehicle vehicle)
    {
        // Back-off with jitter, as vehicles do, so that a server restart is not met by every car in the same millisecond.
        var delay = TimeSpan.FromMilliseconds(100 + Random.Shared.Next(100));
        for (var attempt = 0; attempt < 6 && !_closing.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(delay, _context.TimeProvider, _closing.Token);
                await ConnectOneAsync(vehicle, _closing.Token);
                _reconnects.Increment();
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                delay *= 2;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
