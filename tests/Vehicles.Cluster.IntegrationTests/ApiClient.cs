using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>
/// A caller of one silo with one bearer token, through the generated clients; every unary call has a deadline, so a
/// hang fails instead of hanging.
/// </summary>
internal sealed class ApiClient(CallInvoker invoker, string token)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly FleetOperator.FleetOperatorClient _fleet = new(invoker);
    private readonly VehicleLink.VehicleLinkClient _link = new(invoker);
    private readonly ClusterAdmin.ClusterAdminClient _admin = new(invoker);

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    public Task<Vehicle> GetVehicleAsync(string vin, TimeSpan? timeout = null) =>
        CompleteAsync(_fleet.GetVehicleAsync(new GetVehicleRequest { Vin = vin }, Unary(timeout)));

    public Task<Command> GetCommandAsync(string vin, string commandId) =>
        CompleteAsync(_fleet.GetCommandAsync(new GetCommandRequest { Vin = vin, CommandId = commandId }, Unary()));

    public Task<SendCommandResponse> SendCommandAsync(SendCommandRequest request, CancellationToken cancellationToken = default) =>
        CompleteAsync(_fleet.SendCommandAsync(request, Unary(null, cancellationToken)));

    public Task<ReportResponse> ReportAsync(ReportRequest request) => CompleteAsync(_link.ReportAsync(request, Unary()));

    public Task<ListSilosResponse> ListSilosAsync(ListSilosRequest request, TimeSpan? timeout = null) =>
        CompleteAsync(_admin.ListSilosAsync(request, Unary(timeout)));

    /// <summary>A watch; no deadline, as watches are long-lived: the caller's token bounds it.</summary>
    public AsyncServerStreamingCall<VehicleEvent> WatchVehicle(string vin, CancellationToken cancellationToken) =>
        _fleet.WatchVehicle(new WatchVehicleRequest { Vin = vin }, new CallOptions(Bearer(token), null, cancellationToken));

    public AsyncServerStreamingCall<FleetUpdate> WatchFleet(WatchFleetRequest request, CancellationToken cancellationToken) =>
        _fleet.WatchFleet(request, new CallOptions(Bearer(token), null, cancellationToken));

    /// <summary>A vehicle's stream; no deadline, as a vehicle's stream has none: the caller's token ends it.</summary>
    public AsyncDuplexStreamingCall<VehicleMessage, ServerMessage> Connect(CancellationToken cancellationToken) =>
        _link.Connect(new CallOptions(Bearer(token), null, cancellationToken));

    private CallOptions Unary(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        new(Bearer(token), DateTime.UtcNow + (timeout ?? DefaultTimeout), cancellationToken);

    private static async Task<TResponse> CompleteAsync<TResponse>(AsyncUnaryCall<TResponse> call)
    {
        using (call)
        {
            return await call;
        }
    }
}
