using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

public sealed class SessionDirectoryTests
{
    private static VehicleSessionDirectory Directory(int capacity = 8)
        => new(Options.Create(new VehicleGrainOptions { SessionOutboundCapacity = capacity }), NullLogger<VehicleSessionDirectory>.Instance);

    private static ServerMessage Delivery(string id) => new() { Command = new CommandDelivery { CommandId = id } };

    [Fact]
    public void Register_OfANewerSession_EndsTheOlderOne()
    {
        var directory = Directory();
        using var older = directory.Register(Build.Vin, "s1");

        using var newer = directory.Register(Build.Vin, "s2");
        var pushedToOld = directory.TryPush(Build.Vin, "s1", Delivery("c1"));
        var pushedToNew = directory.TryPush(Build.Vin, "s2", Delivery("c2"));

        Assert.Equal(SessionEndReason.Replaced, older.EndReason);
        Assert.True(older.Ended.IsCancellationRequested);
        Assert.True(older.Outbound.Completion.IsCompleted);
        Assert.False(pushedToOld);
        Assert.True(pushedToNew);
        Assert.True(directory.IsCurrent(Build.Vin, "s2"));
    }

    [Fact]
    public void TryPush_WhenTheOutboundQueueIsFull_EndsTheSession()
    {
        var directory = Directory(capacity: 2);
        using var session = directory.Register(Build.Vin, "s1");

        var results = Enumerable.Range(1, 3).Select(i => directory.TryPush(Build.Vin, "s1", Delivery("c" + i))).ToArray();

        Assert.Equal([true, true, false], results);
        Assert.Equal(SessionEndReason.OutboundQueueFull, session.EndReason);
        Assert.False(directory.IsCurrent(Build.Vin, "s1"));
    }

    [Fact]
    public void Dispose_OfAReplacedSession_LeavesTheNewerOneRegistered()
    {
        var directory = Directory();
        var older = directory.Register(Build.Vin, "s1");
        using var newer = directory.Register(Build.Vin, "s2");

        older.Dispose();

        Assert.True(directory.IsCurrent(Build.Vin, "s2"));
        Assert.Equal(1, directory.Count);
    }
}
