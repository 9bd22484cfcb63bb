using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

/// <summary>What callers with open streams see when the silo stops gracefully (as on SIGTERM): a status to reconnect on.</summary>
public sealed class ShutdownTests : SiloTestBase
{
    [Fact]
    public async Task OpenStreams_WhenTheSiloStops_EndUnavailable_WatchesWithServerShuttingDown()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watchVehicle = Operator.WatchVehicle(Vin(1), stop.Token);
        using var watchFleet = Operator.WatchFleet(new WatchFleetRequest { FleetId = Fleet }, stop.Token);

        // Both watches have delivered, so their handlers run when the silo stops: the vehicle watch its current state,
        // the fleet watch the first change after it subscribed.
        Assert.True(await watchVehicle.ResponseStream.MoveNext(stop.Token));
        var fleetNext = watchFleet.ResponseStream.MoveNext(stop.Token);
        for (var i = 0; i < 50 && !fleetNext.IsCompleted; i++)
        {
            await vehicle.ReportAsync(Signal.Speed(i));
            await vehicle.ReadAsync();
            await Task.WhenAny(fleetNext, Task.Delay(100, stop.Token));
        }

        Assert.True(await fleetNext);

        // All three are read while the silo stops, as their clients would: a stream read only after the server has
        // closed the connection may report the closed connection rather than the status it was sent.
        var vehicleWatchEnding = EndOfAsync(watchVehicle, stop.Token);
        var fleetWatchEnding = EndOfAsync(watchFleet, stop.Token);
        var streamEnding = vehicle.ReadUntilEndAsync();
        var stopping = Task.Run(Silo.StopAsync, stop.Token);
        var vehicleWatchEnd = await vehicleWatchEnding;
        var fleetWatchEnd = await fleetWatchEnding;
        var streamEnd = await streamEnding;
        await stopping;

        Assert.Equal(StatusCode.Unavailable, vehicleWatchEnd.StatusCode);
        Assert.Equal("Server shutting down.", vehicleWatchEnd.Status.Detail);
        Assert.Equal(StatusCode.Unavailable, fleetWatchEnd.StatusCode);
        Assert.Equal("Server shutting down.", fleetWatchEnd.Status.Detail);
        Assert.Equal(StatusCode.Unavailable, streamEnd.StatusCode);
        Assert.Equal("this server is leaving the cluster; reconnect (to any server)", streamEnd.Status.Detail);
    }

    /// <summary>Reads a watch to its end (bounded) and returns the status it ended with.</summary>
    private static async Task<RpcException> EndOfAsync<T>(AsyncServerStreamingCall<T> watch, CancellationToken cancellationToken)
    {
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                if (!await watch.ResponseStream.MoveNext(cancellationToken))
                {
                    return new RpcException(watch.GetStatus());
                }
            }
        }
        catch (RpcException ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("the watch did not end within 1000 messages");
    }
}
