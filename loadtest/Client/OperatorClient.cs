using Vehicles.Api.V1;
using Vehicles.Grpc;

namespace Vehicles.LoadTest;

/// <summary>The FleetOperator calls the scenarios make, over the operators' shared connection.</summary>
public sealed class OperatorClient
{
    private readonly ApiConnection _api;

    /// <summary>Creates a client over <paramref name="api"/>.</summary>
    public OperatorClient(ApiConnection api)
    {
        ArgumentNullException.ThrowIfNull(api);
        _api = api;
    }

    /// <summary>Last known state of a vehicle.</summary>
    public async Task<Vehicle> GetVehicleAsync(string vin, CancellationToken cancellationToken) =>
        await _api.ForOperators().AsyncUnaryCall(
            ApiMethods.GetVehicle, null, Options(TimeSpan.FromSeconds(30), cancellationToken), new GetVehicleRequest { Vin = vin });

    /// <summary>Sends a command, waiting at most <paramref name="timeout"/>.</summary>
    public async Task<SendCommandResponse> SendCommandAsync(SendCommandRequest request, TimeSpan timeout, CancellationToken cancellationToken) =>
        await _api.ForOperators().AsyncUnaryCall(ApiMethods.SendCommand, null, Options(timeout, cancellationToken), request);

    /// <summary>One command of a vehicle.</summary>
    public async Task<Command> GetCommandAsync(string vin, string commandId, CancellationToken cancellationToken) =>
        await _api.ForOperators().AsyncUnaryCall(
            ApiMethods.GetCommand, null, Options(TimeSpan.FromSeconds(30), cancellationToken), new GetCommandRequest { Vin = vin, CommandId = commandId });

    /// <summary>Starts watching one vehicle; the caller reads and disposes the call.</summary>
    public AsyncServerStreamingCall<VehicleEvent> WatchVehicle(string vin, CancellationToken cancellationToken) =>
        _api.ForOperators().AsyncServerStreamingCall(
            ApiMethods.WatchVehicle, null, new CallOptions(_api.OperatorHeaders(), cancellationToken: cancellationToken), new WatchVehicleRequest { Vin = vin });

    /// <summary>Starts watching the fleets the operator may read; the caller reads and disposes the call.</summary>
    public AsyncServerStreamingCall<FleetUpdate> WatchFleet(WatchFleetRequest request, CancellationToken cancellationToken) =>
        _api.ForOperators().AsyncServerStreamingCall(
            ApiMethods.WatchFleet, null, new CallOptions(_api.OperatorHeaders(), cancellationToken: cancellationToken), request);

    private CallOptions Options(TimeSpan timeout, CancellationToken cancellationToken) =>
        new(_api.OperatorHeaders(), DateTime.UtcNow + timeout, cancellationToken);
}
