using Vehicles.Api.V1;
using Vehicles.Grpc;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest;

/// <summary>The gRPC methods the scenarios call, built from the protos' descriptors (no generated stubs).</summary>
internal static class ApiMethods
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor _link = VehicleLinkReflection.Descriptor.Services[0];
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor _fleet = FleetOperatorReflection.Descriptor.Services[0];
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor _test = TestServiceReflection.Descriptor.Services[0];

    public static readonly Method<VehicleMessage, ServerMessage> Connect = Method.Create<VehicleMessage, ServerMessage>(_link, "Connect");

    public static readonly Method<GetVehicleRequest, Vehicle> GetVehicle = Method.Create<GetVehicleRequest, Vehicle>(_fleet, "GetVehicle");

    public static readonly Method<SendCommandRequest, SendCommandResponse> SendCommand =
        Method.Create<SendCommandRequest, SendCommandResponse>(_fleet, "SendCommand");

    public static readonly Method<GetCommandRequest, Command> GetCommand = Method.Create<GetCommandRequest, Command>(_fleet, "GetCommand");

    public static readonly Method<WatchVehicleRequest, VehicleEvent> WatchVehicle =
        Method.Create<WatchVehicleRequest, VehicleEvent>(_fleet, "WatchVehicle");

    public static readonly Method<WatchFleetRequest, FleetUpdate> WatchFleet = Method.Create<WatchFleetRequest, FleetUpdate>(_fleet, "WatchFleet");

    public static readonly Method<EchoRequest, EchoReply> Duplex = Method.Create<EchoRequest, EchoReply>(_test, "Duplex");

    public static readonly Method<EchoRequest, EchoReply> Echo = Method.Create<EchoRequest, EchoReply>(_test, "Echo");

    /// <summary>The gRPC status name a failed call reports, as the harness counts errors.</summary>
    public static string StatusName(Exception exception) => exception switch
    {
        RpcException { StatusCode: StatusCode.ResourceExhausted } rpc when rpc.Status.Detail.StartsWith("THROTTLED", StringComparison.Ordinal) => "THROTTLED",
        RpcException rpc => rpc.StatusCode.ToString().ToUpperInvariant() switch
        {
            "DEADLINEEXCEEDED" => "DEADLINE_EXCEEDED",
            "INVALIDARGUMENT" => "INVALID_ARGUMENT",
            "FAILEDPRECONDITION" => "FAILED_PRECONDITION",
            "PERMISSIONDENIED" => "PERMISSION_DENIED",
            "RESOURCEEXHAUSTED" => "RESOURCE_EXHAUSTED",
            "NOTFOUND" => "NOT_FOUND",
            "ALREADYEXISTS" => "ALREADY_EXISTS",
            "OUTOFRANGE" => "OUT_OF_RANGE",
            "DATALOSS" => "DATA_LOSS",
            var name => name,
        },
        OperationCanceledException => "CANCELLED",
        TimeoutException => "TIMEOUT",
        _ => exception.GetType().Name,
    };
}
