using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

/// <summary>A vehicle grain moving between silos while its vehicle's stream stays open.</summary>
public sealed class HandOverTests
{
    [Fact]
    public async Task Reattach_WhenTheVehicleOpenedAnotherSessionMeanwhile_IsRefused_AndTheNewSessionStays()
    {
        using var settings = HostSettings.Sqlite();
        await using var host = await GrainsHost.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        await vehicle.OpenSessionAsync(Build.Session("new"));

        var grant = await vehicle.OpenSessionAsync(Build.Session("old") with { Reattach = true });

        Assert.False(grant.Accepted);
        Assert.Empty(grant.Commands);
        Assert.True(await vehicle.HeartbeatAsync("new"));
        Assert.False(await vehicle.HeartbeatAsync("old"));
    }

    [Fact]
    public async Task Reattach_OnTheGrainsNextActivation_RestoresTheSessionAndHandsBackUnansweredCommands()
    {
        using var settings = HostSettings.Sqlite();
        string commandId;
        await using (var first = await GrainsHost.StartAsync(settings))
        {
            using var stream = first.Sessions.Register(Build.Vin, "s1");
            await first.Vehicle(Build.Vin).OpenSessionAsync(Build.Session("s1"));
            var sent = await first.Vehicle(Build.Vin).SendCommandAsync(Build.Command("lock_doors"));
            Assert.Equal(CommandState.Delivered, sent.Command!.State);
            commandId = sent.Command.CommandId;
        }

        await using var second = await GrainsHost.StartAsync(settings);
        var vehicle = second.Vehicle(Build.Vin);
        Assert.False(await vehicle.HeartbeatAsync("s1"));

        var grant = await vehicle.OpenSessionAsync(Build.Session("s1") with { Reattach = true });

        Assert.True(grant.Accepted);
        Assert.Equal([commandId], grant.Commands.Select(c => c.CommandId));
        Assert.True(await vehicle.HeartbeatAsync("s1"));
        Assert.Equal(ConnectionState.Online, (await vehicle.GetAsync())!.ConnectionState);
    }

    [Fact]
    public async Task Deactivation_BecauseAnotherSiloOwnsTheGrain_KeepsTheStreamOpen_AndWritesTheState()
    {
        using var settings = HostSettings.Sqlite();
        var placement = new MovablePlacement();
        settings.ConfigureServices = s =>
        {
            s.AddSingleton<Actors.IPlacementDirector>(placement);
            s.AddSingleton<Actors.IGrainCallTransport>(new NowhereTransport());
        };
        await using var host = await GrainsHost.StartAsync(settings);
        using var stream = host.Sessions.Register(Build.Vin, "s1");
        var vehicle = host.Vehicle(Build.Vin);
        await vehicle.OpenSessionAsync(Build.Session("s1"));
        await vehicle.ReportAsync(new StatusReport { Sequence = 1, Signals = new Signals { Speed = 42 } }, null);

        placement.Moved.TryAdd(Build.Vin, 0);
        var handedOver = await host.Runtime.RebalanceAsync();
        var stored = await host.ReadStoredVehicleAsync(Build.Vin);

        Assert.Equal(1, handedOver);
        Assert.Equal(SessionEndReason.None, stream.EndReason);
        Assert.False(stream.Ended.IsCancellationRequested);
        Assert.Equal(1UL, stored!.AppliedSequence);
        Assert.Equal(ConnectionState.Online, stored.Vehicle.ConnectionState);
    }

    /// <summary>Places every grain here except the moved ones.</summary>
    private sealed class MovablePlacement : Actors.IPlacementDirector
    {
        public ConcurrentDictionary<string, byte> Moved { get; } = new();

        public bool IsLocal(Actors.GrainId grainId) => !Moved.ContainsKey(grainId.Key);
    }

    /// <summary>The other silo: calls to it never answer (this test makes none).</summary>
    private sealed class NowhereTransport : Actors.IGrainCallTransport
    {
        public void Send(Actors.GrainId target, Actors.GrainRequest request)
            => request.TrySetException(new Actors.GrainUnavailableException("no other silo in this test"));
    }
}
