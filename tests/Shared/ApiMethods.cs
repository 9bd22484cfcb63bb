using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Vehicles.Api.V1;
using Vehicles.Grpc;
using Method = Vehicles.Grpc.Method;

namespace Vehicles.Testing;

/// <summary>Methods of the services the tests call, built once from their descriptors: our C# client has no generated stubs.</summary>
internal static class ApiMethods
{
    private static readonly ServiceDescriptor _fleet = FleetOperatorReflection.Descriptor.Services[0];
    private static readonly ServiceDescriptor _link = VehicleLinkReflection.Descriptor.Services[0];

    public static readonly Method<GetVehicleRequest, Vehicle> GetVehicle = Method.Create<GetVehicleRequest, Vehicle>(_fleet, "GetVehicle");
    public static readonly Method<ListVehiclesRequest, ListVehiclesResponse> ListVehicles = Method.Create<ListVehiclesRequest, ListVehiclesResponse>(_fleet, "ListVehicles");
    public static readonly Method<SendCommandRequest, SendCommandResponse> SendCommand = Method.Create<SendCommandRequest, SendCommandResponse>(_fleet, "SendCommand");
    public static readonly Method<GetCommandRequest, Command> GetCommand = Method.Create<GetCommandRequest, Command>(_fleet, "GetCommand");
    public static readonly Method<CancelCommandRequest, Command> CancelCommand = Method.Create<CancelCommandRequest, Command>(_fleet, "CancelCommand");
    public static readonly Method<ListCommandsRequest, ListCommandsResponse> ListCommands = Method.Create<ListCommandsRequest, ListCommandsResponse>(_fleet, "ListCommands");
    public static readonly Method<WatchVehicleRequest, VehicleEvent> WatchVehicle = Method.Create<WatchVehicleRequest, VehicleEvent>(_fleet, "WatchVehicle");
    public static readonly Method<WatchFleetRequest, FleetUpdate> WatchFleet = Method.Create<WatchFleetRequest, FleetUpdate>(_fleet, "WatchFleet");
    public static readonly Method<FindNearbyVehiclesRequest, FindNearbyVehiclesResponse> FindNearbyVehicles =
        Method.Create<FindNearbyVehiclesRequest, FindNearbyVehiclesResponse>(_fleet, "FindNearbyVehicles");
    public static readonly Method<VehicleMessage, ServerMessage> Connect = Method.Create<VehicleMessage, ServerMessage>(_link, "Connect");
    public static readonly Method<ReportRequest, ReportResponse> Report = Method.Create<ReportRequest, ReportResponse>(_link, "Report");
    public static readonly Method<HealthCheckRequest, HealthCheckResponse> HealthCheck =
        Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor.Services[0], "Check");
    public static readonly Method<ListSilosRequest, ListSilosResponse> ListSilos =
        Method.Create<ListSilosRequest, ListSilosResponse>(ClusterAdminReflection.Descriptor.Services[0], "ListSilos");
}
