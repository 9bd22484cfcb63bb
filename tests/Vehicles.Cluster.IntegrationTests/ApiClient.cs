using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Vehicles.Api.V1;
using Vehicles.Grpc;
using Method = Vehicles.Grpc.Method;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>Methods of the services the tests call, built once from their descriptors: our C# client has no generated stubs.</summary>
internal static class ApiMethods
{
    private static readonly ServiceDescriptor _fleet = FleetOperatorReflection.Descriptor.Services[0];
    private static readonly ServiceDescriptor _link = VehicleLinkReflection.Descriptor.Services[0];

    public static readonly Method<GetVehicleRequest, Vehicle> GetVehicle = Method.Create<GetVehicleRequest, Vehicle>(_fleet, "GetVehicle");
    public static readonly Method<SendCommandRequest, SendCommandResponse> SendCommand = Method.Create<SendCommandRequest, SendCommandResponse>(_fleet, "SendCommand");
    public static readonly Method<GetCommandRequest, Command> GetCommand = Method.Create<GetCommandRequest, Command>(_fleet, "GetCommand");
    public static readonly Method<WatchVehicleRequest, VehicleEvent> WatchVehicle = Method.Create<WatchVehicleRequest, VehicleEvent>(_fleet, "WatchVehicle");
    public static readonly Method<WatchFleetRequest, FleetUpdate> WatchFleet = Method.Create<WatchFleetRequest, FleetUpdate>(_fleet, "WatchFleet");
    public static readonly Method<VehicleMessage, ServerMessage> Connect = Method.Create<VehicleMessage, ServerMessage>(_link, "Connect");
    public static readonly Method<ReportRequest, ReportResponse> Report = Method.Create<ReportRequest, ReportResponse>(_link, "Report");
    public static readonly Method<HealthCheckRequest, HealthCheckResponse> HealthCheck =
        Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor.Services[0], "Check");
    public static readonly Method<ListSilosRequest, ListSilosResponse> ListSilos =
        Method.Create<ListSilosRequest, ListSilosResponse>(ClusterAdminReflection.Descriptor.Services[0], "ListSilos");
}

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
