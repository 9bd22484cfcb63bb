using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// Operators watching vehicles (one WatchVehicle stream each) or whole fleets (one WatchFleet stream) while telemetry
/// flows. Each vehicle's reports carry strictly increasing capture times, so a watcher that has seen capture time T
/// has seen every report up to T: that is what report→watcher latency waits for.
/// </summary>
public sealed class WatchTracker : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Watermark> _watched = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _readers = [];
    private readonly ScenarioContext _context;
    private readonly Gauge _events;

    private WatchTracker(ScenarioContext context)
    {
        _context = context;
        _events = context.Gauge("watch_events");
    }

    /// <summary>Opens the watches: one per vehicle, or one on fleet <paramref name="fleetId"/> when it is given.</summary>
    public static async Task<WatchTracker> StartAsync(
        ScenarioContext context, OperatorClient operators, IEnumerable<SimulatedVehicle> vehicles, string? fleetId, TimeSpan minInterval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(operators);
        ArgumentNullException.ThrowIfNull(vehicles);
        var tracker = new WatchTracker(context);
        foreach (var vehicle in vehicles)
        {
            tracker._watched[vehicle.Vin] = new Watermark();
        }

        var token = tracker._stop.Token;
        var fleet = fleetId is not null;
        if (fleet)
        {
            var call = operators.WatchFleet(new WatchFleetRequest { FleetId = fleetId, MinInterval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(minInterval) }, token);
            tracker._readers.Add(tracker.ReadAsync(call.ResponseStream, u => u.Vehicle, call));
        }
        else
        {
            foreach (var vin in tracker._watched.Keys)
            {
                var call = operators.WatchVehicle(vin, token);
                tracker._readers.Add(tracker.ReadAsync(call.ResponseStream, e => e.KindCase == VehicleEvent.KindOneofCase.Vehicle ? e.Vehicle : null, call));
            }
        }

        // The first event of a vehicle watch is its current state: waiting for it proves the watch is live.
        var time = context.TimeProvider;
        var deadline = time.GetTimestamp() + (10 * time.TimestampFrequency);
        while (!fleet && tracker._watched.Values.Any(w => !w.Live) && time.GetTimestamp() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
        }

        return tracker;
    }

    /// <summary>Whether <paramref name="vin"/> is watched.</summary>
    public bool IsWatched(string vin) => _watched.ContainsKey(vin);

    /// <summary>Completes once a watcher has seen the state of <paramref name="vin"/> at capture time <paramref name="captureMilliseconds"/> or later.</summary>
    public Task SeenAsync(string vin, long captureMilliseconds) => _watched[vin].WaitAsync(captureMilliseconds);

    /// <summary>Reports a discrepancy for every watched vehicle whose last acked report no watcher has seen.</summary>
    public async Task VerifyAsync(IEnumerable<SimulatedVehicle> vehicles, IReadOnlyDictionary<string, long> lastAckedCapture, TimeSpan settle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vehicles);
        ArgumentNullException.ThrowIfNull(lastAckedCapture);
        var time = _context.TimeProvider;
        var deadline = time.GetTimestamp() + (long)(settle.TotalSeconds * time.TimestampFrequency);
        foreach (var vehicle in vehicles)
        {
            if (!_watched.TryGetValue(vehicle.Vin, out var watermark) || !lastAckedCapture.TryGetValue(vehicle.Vin, out var capture))
            {
                continue;
            }

            try
            {
                var left = TimeSpan.FromSeconds(Math.Max(0, (deadline - time.GetTimestamp()) / (double)time.TimestampFrequency));
                await watermark.WaitAsync(capture).WaitAsync(left, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                _context.ReportDiscrepancy(
                    "watcher-missed-update",
                    string.Create(CultureInfo.InvariantCulture, $"{vehicle.Vin}: report captured at {capture} ms was acked, the watcher saw only up to {watermark.Value} ms"));
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_readers).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task ReadAsync<T>(IAsyncStreamReader<T> stream, Func<T, Vehicle?> vehicleOf, IDisposable call)
    {
        using (call)
        {
            try
            {
                while (await stream.MoveNext(_stop.Token))
                {
                    if (vehicleOf(stream.Current) is { } vehicle && _watched.TryGetValue(vehicle.Vin, out var watermark))
                    {
                        _events.Increment();
                        watermark.Observe(vehicle.CaptureTime is { } t ? (t.Seconds * 1000) + (t.Nanos / 1_000_000) : 0);
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException)
            {
                // The run is over, or the watch failed; VerifyAsync reports what it missed.
            }
        }
    }

    private sealed class Watermark
    {
        private readonly Lock _lock = new();
        private readonly List<(long Capture, TaskCompletionSource Done)> _waiters = [];
        private long _value = -1;

        public bool Live => Interlocked.Read(ref _value) >= 0;

        public long Value => Interlocked.Read(ref _value);

        public void Observe(long capture)
        {
            List<TaskCompletionSource>? done = null;
            lock (_lock)
            {
                if (capture <= _value)
                {
                    return;
                }

                Interlocked.Exchange(ref _value, capture);
                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (_waiters[i].Capture <= capture)
                    {
                        (done ??= []).Add(_waiters[i].Done);
                        _waiters.RemoveAt(i);
                    }
                }
            }

            done?.ForEach(d => d.TrySetResult());
        }

        public Task WaitAsync(long capture)
        {
            lock (_lock)
            {
                if (capture <= _value)
                {
                    return Task.CompletedTask;
                }

                var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((capture, waiter));
                return waiter.Task;
            }
        }
    }
}
