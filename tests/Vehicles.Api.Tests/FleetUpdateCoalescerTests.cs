using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.Services;
using Vehicles.Api.V1;

namespace Vehicles.Api.Tests;

public sealed class FleetUpdateCoalescerTests
{
    private readonly TimerCountingClock _clock = new(TestTime.Start);
    private readonly Channel<VehicleEvent> _events = Channel.CreateUnbounded<VehicleEvent>();
    private readonly Channel<FleetUpdate> _updates = Channel.CreateUnbounded<FleetUpdate>();

    private static VehicleEvent Change(string vin, ulong version, ConnectionState state = ConnectionState.Online, string fleet = "f1") =>
        new() { Vehicle = new Vehicle { Vin = vin, StateVersion = version, ConnectionState = state, FleetId = fleet } };

    private Task Start(bool? online = null, Func<Vehicle, bool>? readable = null) =>
        new FleetUpdateCoalescer(_clock, TimeSpan.FromSeconds(1), online).RunAsync(
            _events.Reader,
            readable ?? (_ => true),
            async (update, ct) => await _updates.Writer.WriteAsync(update, ct),
            CancellationToken.None);

    private async Task<FleetUpdate> NextUpdateAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _updates.Reader.ReadAsync(timeout.Token);
    }

    // Waits until the coalescer has taken every queued event and armed its flush delay, so the test knows what it
    // holds before moving the clock (a delay armed after the move would be due an interval later).
    private async Task DrainedAsync(int timersBefore)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_events.Reader.Count > 0 || _clock.TimersCreated == timersBefore)
        {
            Assert.True(DateTime.UtcNow < deadline, "the coalescer did not take its events");
            await Task.Yield();
        }
    }

    [Fact]
    public async Task FirstChange_IsSentAtOnce_LaterOnesCoalesceToNewestAfterInterval()
    {
        var run = Start();

        _events.Writer.TryWrite(Change("V1", 1));
        var first = await NextUpdateAsync();
        var timers = _clock.TimersCreated;
        _events.Writer.TryWrite(Change("V1", 2));
        _events.Writer.TryWrite(Change("V1", 3));
        await DrainedAsync(timers);
        var earlyUpdate = _updates.Reader.TryRead(out _);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var coalesced = await NextUpdateAsync();
        _events.Writer.Complete();
        await run;

        Assert.Equal(1ul, first.Vehicle.StateVersion);
        Assert.False(earlyUpdate);
        Assert.Equal(3ul, coalesced.Vehicle.StateVersion);
        Assert.False(_updates.Reader.TryRead(out _));
    }

    [Fact]
    public async Task OnlineFilter_VehicleGoingOffline_GetsOneLastUpdateThenNothing()
    {
        var run = Start(online: true);

        _events.Writer.TryWrite(Change("V1", 1, ConnectionState.Offline));
        _events.Writer.TryWrite(Change("V2", 1));
        var online = await NextUpdateAsync();
        _clock.Advance(TimeSpan.FromSeconds(2));
        _events.Writer.TryWrite(Change("V2", 2, ConnectionState.Offline));
        var leaving = await NextUpdateAsync();
        _events.Writer.TryWrite(Change("V2", 3, ConnectionState.Offline));
        _events.Writer.Complete();
        await run;

        Assert.Equal("V2", online.Vehicle.Vin);
        Assert.Equal(ConnectionState.Offline, leaving.Vehicle.ConnectionState);
        Assert.Equal(2ul, leaving.Vehicle.StateVersion);
        Assert.False(_updates.Reader.TryRead(out _));
    }

    [Fact]
    public async Task UnreadableVehicles_AndStaleVersions_AreNeverSent()
    {
        var run = Start(readable: v => v.FleetId == "f1");

        _events.Writer.TryWrite(Change("V9", 1, fleet: "other"));
        _events.Writer.TryWrite(Change("V1", 5));
        var first = await NextUpdateAsync();
        _clock.Advance(TimeSpan.FromSeconds(2));
        _events.Writer.TryWrite(Change("V1", 4));
        _events.Writer.Complete();
        await run;

        Assert.Equal("V1", first.Vehicle.Vin);
        Assert.False(_updates.Reader.TryRead(out _));
    }

    /// <summary>Microsoft's fake clock, counting the timers armed on it (Task.Delay arms one), so a test can wait for them.</summary>
    private sealed class TimerCountingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private int _created;

        public int TimersCreated => Volatile.Read(ref _created);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _created);
            return timer;
        }
    }
}
