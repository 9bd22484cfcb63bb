namespace Vehicles.Grpc.Server;

/// <summary>The services mapped on this server, for the catch-all route and server reflection.</summary>
public sealed class GrpcServiceRegistry
{
    private readonly Lock _lock = new();
    private readonly List<Google.Protobuf.Reflection.ServiceDescriptor> _services = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The mapped services, in mapping order.</summary>
    public IReadOnlyList<Google.Protobuf.Reflection.ServiceDescriptor> Services
    {
        get
        {
            lock (_lock)
            {
                return [.. _services];
            }
        }
    }

    internal bool UnimplementedRouteMapped { get; set; }

    internal bool IsMapped(string serviceName)
    {
        lock (_lock)
        {
            return _names.Contains(serviceName);
        }
    }

    internal void Add(Google.Protobuf.Reflection.ServiceDescriptor service)
    {
        lock (_lock)
        {
            if (!_names.Add(service.FullName))
            {
                throw new InvalidOperationException($"Service '{service.FullName}' is already mapped.");
            }

            _services.Add(service);
        }
    }
}
