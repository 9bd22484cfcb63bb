using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Vehicles.Actors;

/// <summary>
/// The runtime's instruments (Meter <c>"Vehicles.Actors"</c>). Each hot-path instrument is guarded by its
/// <see cref="Instrument.Enabled"/> flag, so with no listener a call records nothing and allocates nothing.
/// </summary>
internal sealed class ActorsMetrics : IDisposable
{
    public const string MeterName = "Vehicles.Actors";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _calls;
    private readonly Histogram<double> _callDuration;
    private readonly Histogram<int> _mailboxDepth;

    public ActorsMetrics(IMeterFactory? meterFactory, Func<long> activationCount)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableUpDownCounter("vehicles.actors.activations", activationCount, unit: "{activation}", description: "Grain activations currently resident.");
        _calls = _meter.CreateCounter<long>("vehicles.actors.calls", unit: "{call}", description: "Grain calls sent (rate it for calls per second).");
        _callDuration = _meter.CreateHistogram<double>("vehicles.actors.call.duration", unit: "ms", description: "Time from sending a call to the end of its grain method.");
        _mailboxDepth = _meter.CreateHistogram<int>("vehicles.actors.mailbox.depth", unit: "{message}", description: "Messages queued in the target mailbox, sampled when a call arrives.");
    }

    public bool CallDurationEnabled => _callDuration.Enabled;

    public void CountCall()
    {
        if (_calls.Enabled)
        {
            _calls.Add(1);
        }
    }

    public void RecordMailboxDepth(int depth)
    {
        if (_mailboxDepth.Enabled)
        {
            _mailboxDepth.Record(depth);
        }
    }

    public void RecordCallDuration(long sentTimestamp)
    {
        if (sentTimestamp != 0 && _callDuration.Enabled)
        {
            _callDuration.Record(Stopwatch.GetElapsedTime(sentTimestamp).TotalMilliseconds);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
