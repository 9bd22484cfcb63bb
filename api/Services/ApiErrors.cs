using Grpc.Core;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Services;

/// <summary>The statuses the services end calls with, each with a message the caller can act on.</summary>
internal static class ApiErrors
{
    public static RpcException Invalid(ValidationError error) => new(new Status(StatusCode.InvalidArgument, error.ToString()));

    public static RpcException Invalid(string field, string message) => new(new Status(StatusCode.InvalidArgument, field + ": " + message));

    // A vehicle outside the caller's fleets answers exactly like one that does not exist, so tokens cannot probe for VINs.
    public static RpcException VehicleNotFound(string vin) => new(new Status(StatusCode.NotFound, "vehicle " + vin + " not found"));

    public static RpcException CommandNotFound(string commandId) => new(new Status(StatusCode.NotFound, "command " + commandId + " not found"));

    public static RpcException Denied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    // A watch ends so when its server stops: the caller opens it again on another server.
    public static RpcException ShuttingDown() => new(new Status(StatusCode.Unavailable, "Server shutting down."));
}
