using Vehicles.Api.V1;
using Vehicles.Grpc;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>A caller of one silo with one bearer token; every unary call has a deadline, so a hang fails instead of hanging.</summary>
internal sealed class ApiClient(CallInvoker invoker, string token)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static Metadata Bearer(string token) => new Metadata().Add("authorization", "Bearer " + token);

    public async Task<TResponse> CallAsync<TRequest, TResponse>(
        Method<TRequest, TResponse> method, TRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TRequest : class
        where TResponse : class
    {
        using var call = invoker.AsyncUnaryCall(
            method, null, new CallOptions(Bearer(token), DateTime.UtcNow + (timeout ?? DefaultTimeout), cancellationToken), request);
        return await call;
    }

    public Task<Vehicle> GetVehicleAsync(string vin, TimeSpan? timeout = null) =>
        CallAsync(ApiMethods.GetVehicle, new GetVehicleRequest { Vin = vin }, timeout);

    public Task<Command> GetCommandAsync(string vin, string commandId) =>
        CallAsync(ApiMethods.GetCommand, new GetCommandRequest { Vin = vin, CommandId = commandId });

    /// <summary>A watch; no deadline, as watches are long-lived: the caller's token bounds it.</summary>
    public AsyncServerStreamingCall<VehicleEvent> WatchVehicle(string vin, CancellationToken cancellationToken) =>
        invoker.AsyncServerStreamingCall(ApiMethods.WatchVehicle, null, new CallOptions(Bearer(token), null, cancellationToken), new WatchVehicleRequest { Vin = vin });

    public AsyncServerStreamingCall<FleetUpdate> WatchFleet(WatchFleetRequest request, CancellationToken cancellationToken) =>
        invoker.AsyncServerStreamingCall(ApiMethods.WatchFleet, null, new CallOptions(Bearer(token), null, cancellationToken), request);
}
