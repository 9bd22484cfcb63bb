using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.LoadTest;

/// <summary>The FleetOperator calls the scenarios make, over the operators' shared connections.</summary>
public sealed class OperatorClient
{
    private static readonly TimeSpan _readTimeout = TimeSpan.FromSeconds(30);

    private readonly ApiConnection _api;

    /// <summary>Creates a client over <paramref name="api"/>.</summary>
    public OperatorClient(ApiConnection api)
    {
        ArgumentNullException.ThrowIfNull(api);
        _api = api;
    }

    /// <summary>Last known state of a vehicle.</summary>
    public async Task<Vehicle> GetVehicleAsync(string vin, CancellationToken cancellationToken) =>
        await _api.ForOperators().GetVehicleAsync(new GetVehicleRequest { Vin = vin }, Options(_readTimeout, cancellationToken));

    /// <summary>Sends a command, waiting at most <paramref name="timeout"/>.</summary>
    public async Task<SendCommandResponse> SendCommandAsync(SendCommandRequest request, TimeSpan timeout, CancellationToken cancellationToken) =>
        await _api.ForOperators().SendCommandAsync(request, Options(timeout, cancellationToken));

    /// <summary>One command of a vehicle.</summary>
    public async Task<Command> GetCommandAsync(string vin, string commandId, CancellationToken cancellationToken) =>
        await _api.ForOperators().GetCommandAsync(new GetCommandRequest { Vin = vin, CommandId = commandId }, Options(_readTimeout, cancellationToken));

    /// <summary>Starts watching one vehicle; the caller reads and disposes the call.</summary>
    public AsyncServerStreamingCall<VehicleEvent> WatchVehicle(string vin, CancellationToken cancellationToken) =>
        _api.ForOperators().WatchVehicle(new WatchVehicleRequest { Vin = vin }, new CallOptions(_api.OperatorHeaders(), cancellationToken: cancellationToken));

    /// <summary>Starts watching the fleets the operator may read; the caller reads and disposes the call.</summary>
    public AsyncServerStreamingCall<FleetUpdate> WatchFleet(WatchFleetRequest request, CancellationToken cancellationToken) =>
        _api.ForOperators().WatchFleet(request, new CallOptions(_api.OperatorHeaders(), cancellationToken: cancellationToken));

    private CallOptions Options(TimeSpan timeout, CancellationToken cancellationToken) =>
        new(_api.OperatorHeaders(), DateTime.UtcNow + timeout, cancellationToken);
}
