using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using HdrHistogram;

namespace Vehicles.LoadTest;

/// <summary>
/// The recording side of one scenario's statistics: the scheduler records each call here from many threads at
/// once, and the run collector moves the counts into a per-second interval about once a second.
/// </summary>
/// <remarks>
/// Everything is an atomic counter or HdrHistogram's <see cref="Recorder"/>, so recording takes no lock and allocates
/// only the first time a new error status name is seen.
/// </remarks>
public sealed class ScenarioStats
{
    private readonly ConcurrentDictionary<string, StrongBox<long>> _errors = new(StringComparer.Ordinal);
    private readonly Recorder _latency = Latencies.CreateRecorder();
    private readonly HistogramBase _total = Latencies.CreateHistogram();
    private readonly Dictionary<string, long> _totalErrors = new(StringComparer.Ordinal);
    private readonly Lock _intervalLock = new();
    private long _ok;
    private long _failed;
    private long _warmUp;
    private long _dropped;
    private long _late;
    private long _inFlight;
    private long _totalOk;
    private long _totalFailed;
    private long _totalWarmUp;
    private long _totalDropped;
    private long _totalLate;

    /// <summary>Creates the statistics of the named scenario.</summary>
    public ScenarioStats(string scenario)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scenario);
        Scenario = scenario;
    }

    /// <summary>The scenario's name.</summary>
    public string Scenario { get; }

    /// <summary>Calls started and not yet finished.</summary>
    public long InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Records a measured call: its outcome and its latency in microseconds.</summary>
    /// <remarks>Latency is recorded for successful calls only; failures are counted by status name.</remarks>
    public void Record(StepResult result, long latencyMicroseconds)
    {
        if (result.IsOk)
        {
            _latency.RecordMicroseconds(latencyMicroseconds);
            Interlocked.Increment(ref _ok);
            return;
        }

        Interlocked.Increment(ref _failed);
        Interlocked.Increment(ref _errors.GetOrAdd(result.Status!, static _ => new StrongBox<long>()).Value);
    }

    /// <summary>Counts a call made during warm-up; nothing else about it is kept.</summary>
    public void RecordWarmUp() => Interlocked.Increment(ref _warmUp);

    /// <summary>Counts an open-model arrival that was not started because too many calls were in flight.</summary>
    public void RecordDropped() => Interlocked.Increment(ref _dropped);

    /// <summary>Counts an open-model call started later than allowed after its intended start time.</summary>
    public void RecordLate() => Interlocked.Increment(ref _late);

    /// <summary>Dropped arrivals not yet moved into an interval.</summary>
    internal long PeekDropped => Interlocked.Read(ref _dropped);

    internal void CallStarted() => Interlocked.Increment(ref _inFlight);

    internal long CallEnded() => Interlocked.Decrement(ref _inFlight);

    /// <summary>
    /// Moves the counts recorded since the previous call into an interval and adds them to the totals. Every
    /// recording lands in exactly one interval.
    /// </summary>
    internal IntervalStats TakeInterval()
    {
        lock (_intervalLock)
        {
            var errors = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (status, box) in _errors)
            {
                var count = Interlocked.Exchange(ref box.Value, 0);
                if (count != 0)
                {
                    errors[status] = count;
                    _totalErrors[status] = _totalErrors.GetValueOrDefault(status) + count;
                }
            }

            var interval = new IntervalStats(
                Interlocked.Exchange(ref _ok, 0),
                Interlocked.Exchange(ref _failed, 0),
                errors,
                _latency.GetIntervalHistogram(),
                Interlocked.Exchange(ref _warmUp, 0),
                Interlocked.Exchange(ref _dropped, 0),
                Interlocked.Exchange(ref _late, 0),
                InFlight);

            _total.Add(interval.Latency);
            _totalOk += interval.Ok;
            _totalFailed += interval.Failed;
            _totalWarmUp += interval.WarmUpCalls;
            _totalDropped += interval.Dropped;
            _totalLate += interval.Late;
            return interval;
        }
    }

    /// <summary>The totals of all intervals taken so far.</summary>
    internal TotalStats Totals()
    {
        lock (_intervalLock)
        {
            return new TotalStats(
                _totalOk,
                _totalFailed,
                new Dictionary<string, long>(_totalErrors, StringComparer.Ordinal),
                _total.Copy(),
                _totalWarmUp,
                _totalDropped,
                _totalLate);
        }
    }
}

/// <summary>What one scenario recorded during one interval.</summary>
internal sealed record IntervalStats(
    long Ok,
    long Failed,
    IReadOnlyDictionary<string, long> Errors,
    HistogramBase Latency,
    long WarmUpCalls,
    long Dropped,
    long Late,
    long InFlight);

/// <summary>What one scenario recorded over all intervals.</summary>
internal sealed record TotalStats(
    long Ok,
    long Failed,
    IReadOnlyDictionary<string, long> Errors,
    HistogramBase Latency,
    long WarmUpCalls,
    long Dropped,
    long Late);
