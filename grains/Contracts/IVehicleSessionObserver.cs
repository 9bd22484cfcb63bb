using Orleans.Concurrency;
using Vehicles.Api.V1;

namespace Vehicles.Grains;

/// <summary>
/// The outbound side of one vehicle stream, as the vehicle's grain sees it: the Connect handler creates it with
/// <c>IGrainFactory.CreateObjectReference</c> and passes it to <see cref="IVehicleGrain.OpenSessionAsync"/>, and the
/// grain pushes commands and cancellations through it from whichever silo it lives on. Every method is one-way: the
/// grain never waits on a vehicle's connection. Pushes are best effort (a stream whose silo died is simply gone);
/// what a vehicle misses stays DELIVERED in the grain and goes out again when the stream re-announces itself or the
/// vehicle reconnects, which is the documented at-least-once delivery.
/// </summary>
[Alias("vehicles.IVehicleSessionObserver")]
public interface IVehicleSessionObserver : IGrainObserver
{
    /// <summary>Queues a message for the vehicle. A full outbound queue ends the session (<see cref="SessionEndReason.OutboundQueueFull"/>).</summary>
    [OneWay]
    [Alias("Push")]
    Task PushAsync(ServerMessage message);

    /// <summary>Ends the stream for <paramref name="reason"/>.</summary>
    [OneWay]
    [Alias("End")]
    Task EndAsync(SessionEndReason reason);

    /// <summary>The activation that knew the session is going away while the stream stays: announce it again (<see cref="SessionRequest.Reattach"/>).</summary>
    [OneWay]
    [Alias("Reattach")]
    Task ReattachAsync();
}

/// <summary>Why a vehicle session ended.</summary>
[GenerateSerializer]
[Alias("vehicles.SessionEndReason")]
public enum SessionEndReason
{
    /// <summary>Still open.</summary>
    None,

    /// <summary>The stream ended.</summary>
    Closed,

    /// <summary>A newer session of the same VIN replaced it (the stream ends with ABORTED).</summary>
    Replaced,

    /// <summary>Its outbound queue overflowed (the stream ends with RESOURCE_EXHAUSTED).</summary>
    OutboundQueueFull,

    /// <summary>The vehicle grain heard nothing within the heartbeat timeout (the stream ends with UNAVAILABLE).</summary>
    HeartbeatTimeout,

    /// <summary>The silo holding the stream is shutting down; the vehicle reconnects to another (UNAVAILABLE).</summary>
    SiloShuttingDown,
}
