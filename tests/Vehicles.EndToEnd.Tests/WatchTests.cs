using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

public sealed class WatchTests : SiloTestBase
{
    [Fact]
    public async Task WatchVehicle_SeesCurrentStateThenChangesAndCommands()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = Operator.WatchVehicle(Vin(1), stop.Token);
        Assert.True(await watch.ResponseStream.MoveNext(stop.Token));
        var initial = watch.ResponseStream.Current;

        await vehicle.ReportAsync(Signal.Speed(88));
        var changed = await NextAsync(watch, e => e.KindCase == VehicleEvent.KindOneofCase.Vehicle && e.Vehicle.Signals.HasSpeed, stop.Token);
        var sent = await Operator.SendCommandAsync(new SendCommandRequest { Vin = Vin(1), Name = "honk_horn" });
        var command = await NextAsync(watch, e => e.KindCase == VehicleEvent.KindOneofCase.Command, stop.Token);

        Assert.Equal(VehicleEvent.KindOneofCase.Vehicle, initial.KindCase);
        Assert.Equal(ConnectionState.Online, initial.Vehicle.ConnectionState);
        Assert.Equal(88, changed.Vehicle.Signals.Speed);
        Assert.True(changed.Vehicle.StateVersion > initial.Vehicle.StateVersion);
        Assert.Equal(sent.Command.CommandId, command.Command.CommandId);
    }

    [Fact]
    public async Task WatchFleet_SeesFleetChanges_CoalescedPerInterval_NotOtherFleets()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await using var stranger = await Silo.ConnectAsync(Vin(2), OtherFleet);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = Operator.WatchFleet(new WatchFleetRequest { FleetId = Fleet, MinInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)) }, stop.Token);

        // Reports until the watch shows one: its subscription starts with the call, which the headers do not prove.
        var first = await ReportUntilSeenAsync(vehicle, watch, stop.Token);
        await stranger.ReportAsync(Signal.Speed(500));
        await stranger.ReadAsync();
        await vehicle.ReportAsync(Signal.Speed(60));
        await vehicle.ReadAsync();
        await vehicle.ReportAsync(Signal.Speed(61));
        await vehicle.ReadAsync();

        // The watch consumes events on its own task: the last one may not have reached its coalescer when the clock
        // moves, and then goes out one interval later. Either way at most one update per interval, the newest.
        // The coalescer arms its interval timer on its own task too: the clock moves an interval at a time until the
        // next update is out, bounded by the test's 30 s.
        var seen = new List<FleetUpdate>();
        for (var interval = 0; interval < 2 && (seen.Count == 0 || seen[^1].Vehicle.Signals.Speed != 61); interval++)
        {
            var pending = watch.ResponseStream.MoveNext(stop.Token);
            while (!pending.IsCompleted)
            {
                Silo.Clock.Advance(TimeSpan.FromSeconds(5));
                await Task.WhenAny(pending, Task.Delay(TimeSpan.FromMilliseconds(50), stop.Token));
            }

            Assert.True(await pending);
            seen.Add(watch.ResponseStream.Current);
        }

        Assert.Equal(Vin(1), first.Vehicle.Vin);
        Assert.All(seen, update => Assert.Equal(Vin(1), update.Vehicle.Vin));
        Assert.Equal(61, seen[^1].Vehicle.Signals.Speed);
    }

    [Fact]
    public async Task WatchFleet_OnlineFilter_SendsOneLastUpdateWhenVehicleLeaves()
    {
        var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = Operator.WatchFleet(
            new WatchFleetRequest { FleetId = Fleet, Online = true, MinInterval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) }, stop.Token);
        await ReportUntilSeenAsync(vehicle, watch, stop.Token);
        Silo.Clock.Advance(TimeSpan.FromSeconds(1));

        await vehicle.HangUpAsync();
        await vehicle.DisposeAsync();
        var last = await NextAsync(watch, u => u.Vehicle.ConnectionState == ConnectionState.Offline, stop.Token);

        Assert.Equal(Vin(1), last.Vehicle.Vin);
    }

    private static async Task<FleetUpdate> ReportUntilSeenAsync(SimulatedVehicle vehicle, AsyncServerStreamingCall<FleetUpdate> watch, CancellationToken cancellationToken)
    {
        var next = watch.ResponseStream.MoveNext(cancellationToken);
        for (var i = 0; i < 50 && !next.IsCompleted; i++)
        {
            await vehicle.ReportAsync(Signal.Speed(i));
            await vehicle.ReadAsync();
            await Task.WhenAny(next, Task.Delay(100, cancellationToken));
        }

        Assert.True(await next);
        return watch.ResponseStream.Current;
    }

    private static async Task<T> NextAsync<T>(AsyncServerStreamingCall<T> watch, Func<T, bool> match, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.True(await watch.ResponseStream.MoveNext(cancellationToken), "the watch ended");
            if (match(watch.ResponseStream.Current))
            {
                return watch.ResponseStream.Current;
            }
        }

        throw new Xunit.Sdk.XunitException("no matching event within 100");
    }
}
