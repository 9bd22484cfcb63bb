namespace Vehicles.Grpc;

internal static class Placeholder
{
}
