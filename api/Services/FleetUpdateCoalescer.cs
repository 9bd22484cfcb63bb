using System.Threading.Channels;
using Vehicles.Api.V1;

namespace Vehicles.Api.Services;

/// <summary>
/// Turns a fleet's vehicle events into WatchFleet updates: at most one per vehicle per interval, always its newest
/// state, and one last update for a vehicle that leaves the online filter. Runs on the injected clock; one per call.
/// </summary>
internal sealed class FleetUpdateCoalescer(TimeProvider time, TimeSpan interval, bool? online)
{
    private readonly Dictionary<string, Entry> _vehicles = new(StringComparer.Ordinal);

    public async Task RunAsync(
        ChannelReader<VehicleEvent> events,
        Func<Vehicle, bool> readable,
        Func<FleetUpdate, CancellationToken, Task> write,
        CancellationToken cancellationToken)
    {
        Task<bool>? waitToRead = null;
        while (true)
        {
            waitToRead ??= events.WaitToReadAsync(cancellationToken).AsTask();
            if (NextDue() is not { } due)
            {
                await waitToRead;
            }
            else if (!waitToRead.IsCompleted && due > time.GetTimestamp())
            {
                using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = TimeSpan.FromSeconds((double)(due - time.GetTimestamp()) / time.TimestampFrequency);
                await Task.WhenAny(waitToRead, Task.Delay(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, time, delayCancel.Token));
                await delayCancel.CancelAsync();
            }

            if (waitToRead.IsCompleted)
            {
                if (!await waitToRead)
                {
                    return;
                }

                waitToRead = null;
            }

            // Whatever is queued is taken in before a flush, so a flush always carries the newest state. Bounded by the
            // subscription's capacity.
            while (events.TryRead(out var change))
            {
                if (change.KindCase == VehicleEvent.KindOneofCase.Vehicle && readable(change.Vehicle))
                {
                    await OnVehicleAsync(change.Vehicle, write, cancellationToken);
                }
            }

            await FlushDueAsync(write, cancellationToken);
        }
    }

    private async Task OnVehicleAsync(Vehicle vehicle, Func<FleetUpdate, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var matches = online is null || (vehicle.ConnectionState == ConnectionState.Online) == online;
        _vehicles.TryGetValue(vehicle.Vin, out var entry);
        if (!matches && entry is not { Shown: true })
        {
            return;
        }

        if (entry is null)
        {
            entry = new Entry();
            _vehicles[vehicle.Vin] = entry;
        }

        var newest = entry.Pending ?? entry.LastSent;
        if (newest is not null && newest.StateVersion >= vehicle.StateVersion)
        {
            return;
        }

        // A vehicle leaving the filter still gets this one update, showing why; then it is forgotten until it returns.
        entry.Shown = matches;
        var now = time.GetTimestamp();
        if (entry.LastSent is null || now - entry.SentAt >= IntervalTicks)
        {
            entry.Pending = null;
            await SendAsync(entry, vehicle, now, write, cancellationToken);
        }
        else
        {
            entry.Pending = vehicle;
        }
    }

    private long IntervalTicks => (long)(interval.TotalSeconds * time.TimestampFrequency);

    private long? NextDue()
    {
        long? due = null;
        foreach (var entry in _vehicles.Values)
        {
            if (entry.Pending is not null && (due is null || entry.SentAt + IntervalTicks < due))
            {
                due = entry.SentAt + IntervalTicks;
            }
        }

        return due;
    }

    private async Task FlushDueAsync(Func<FleetUpdate, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        List<string>? forget = null;
        foreach (var (vin, entry) in _vehicles)
        {
            if (now - entry.SentAt < IntervalTicks)
            {
                continue;
            }

            if (entry.Pending is { } pending)
            {
                entry.Pending = null;
                await SendAsync(entry, pending, now, write, cancellationToken);
            }
            else if (online is null || !entry.Shown)
            {
                (forget ??= []).Add(vin);
            }
        }

        // A vehicle quiet for an interval (and not inside an online filter) needs no memory: its next change goes out at once.
        foreach (var vin in forget ?? [])
        {
            _vehicles.Remove(vin);
        }
    }

    private static async Task SendAsync(Entry entry, Vehicle vehicle, long now, Func<FleetUpdate, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        entry.LastSent = vehicle;
        entry.SentAt = now;
        await write(new FleetUpdate { Vehicle = vehicle }, cancellationToken);
    }

    private sealed class Entry
    {
        public Vehicle? LastSent { get; set; }

        public long SentAt { get; set; }

        public Vehicle? Pending { get; set; }

        public bool Shown { get; set; }
    }
}
