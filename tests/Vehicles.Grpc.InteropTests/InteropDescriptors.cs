using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Grpc.Reflection.V1;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// The descriptor set the python client builds its message classes from: vehicles.v1 (Vehicles.Protos), grpc.health.v1
/// (Grpc.HealthCheck) and grpc.reflection.v1 (Grpc.Reflection), each file after its imports, as
/// <c>protoc --include_imports --descriptor_set_out</c> writes them. Taken from the compiled descriptors, so python sees
/// exactly the schema the silo serves.
/// </summary>
internal static class InteropDescriptors
{
    private static readonly Lazy<string> _path = new(Write);

    /// <summary>The file, written once per test run.</summary>
    public static string Path => _path.Value;

    private static string Write()
    {
        FileDescriptor[] roots =
        [
            VehicleLinkReflection.Descriptor,
            FleetOperatorReflection.Descriptor,
            ClusterAdminReflection.Descriptor,
            HealthReflection.Descriptor,
            ReflectionReflection.Descriptor,
        ];
        var ordered = new List<FileDescriptor>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in roots)
        {
            Add(root, ordered, seen);
        }

        var set = new FileDescriptorSet();
        set.File.AddRange(ordered.Select(file => FileDescriptorProto.Parser.ParseFrom(file.SerializedData)));
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, "interop_descriptors.pb");
        File.WriteAllBytes(path, set.ToByteArray());
        return path;
    }

    private static void Add(FileDescriptor file, List<FileDescriptor> ordered, HashSet<string> seen)
    {
        if (!seen.Add(file.Name))
        {
            return;
        }

        foreach (var dependency in file.Dependencies)
        {
            Add(dependency, ordered, seen);
        }

        ordered.Add(file);
    }
}
