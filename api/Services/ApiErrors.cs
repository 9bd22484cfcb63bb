using Vehicles.Api.Validation;
using Vehicles.Grpc;

namespace Vehicles.Api.Services;

/// <summary>The statuses the services end calls with, each with a message the caller can act on.</summary>
internal static class ApiErrors
{
    public static RpcException Invalid(ValidationError error) => new(StatusCode.InvalidArgument, error.ToString());

    public static RpcException Invalid(string field, string message) => new(StatusCode.InvalidArgument, field + ": " + message);

    // A vehicle outside the caller's fleets answers exactly like one that does not exist, so tokens cannot probe for VINs.
    public static RpcException VehicleNotFound(string vin) => new(StatusCode.NotFound, "vehicle " + vin + " not found");

    public static RpcException CommandNotFound(string commandId) => new(StatusCode.NotFound, "command " + commandId + " not found");

    public static RpcException Denied(string message) => new(StatusCode.PermissionDenied, message);
}
