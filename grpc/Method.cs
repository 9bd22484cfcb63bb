using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Vehicles.Grpc;

/// <summary>The four kinds of gRPC method.</summary>
public enum MethodType
{
    /// <summary>One request, one response.</summary>
    Unary,
    /// <summary>A stream of requests, one response.</summary>
    ClientStreaming,
    /// <summary>One request, a stream of responses.</summary>
    ServerStreaming,
    /// <summary>A stream each way.</summary>
    DuplexStreaming,
}

/// <summary>Writes a message into a buffer of exactly its serialized size.</summary>
public delegate void MessageWriter<in T>(T message, Span<byte> destination);

/// <summary>Turns messages of one type into bytes and back.</summary>
public sealed class Marshaller<T>
{
    /// <summary>Creates a marshaller from its three operations.</summary>
    public Marshaller(Func<T, int> calculateSize, MessageWriter<T> write, Func<ReadOnlySequence<byte>, T> parse)
    {
        CalculateSize = calculateSize;
        Write = write;
        Parse = parse;
    }

    /// <summary>The serialized size of a message.</summary>
    public Func<T, int> CalculateSize { get; }

    /// <summary>Serializes a message into a span of exactly <see cref="CalculateSize"/> bytes.</summary>
    public MessageWriter<T> Write { get; }

    /// <summary>Parses a message; throws on malformed input.</summary>
    public Func<ReadOnlySequence<byte>, T> Parse { get; }

    /// <summary>Serializes a message into a new array.</summary>
    public byte[] Serialize(T message)
    {
        var bytes = new byte[CalculateSize(message)];
        Write(message, bytes);
        return bytes;
    }
}

/// <summary>Marshallers for protobuf messages.</summary>
public static class Marshallers
{
    /// <summary>The marshaller of a generated protobuf message type.</summary>
    public static Marshaller<T> Protobuf<T>() where T : IMessage<T>, new() => ProtobufCache<T>.Instance;

    private static class ProtobufCache<T> where T : IMessage<T>, new()
    {
        private static readonly MessageParser<T> _parser = new(() => new T());

        public static readonly Marshaller<T> Instance = new(
            static m => m.CalculateSize(),
            static (m, destination) => m.WriteTo(destination),
            static bytes => _parser.ParseFrom(bytes));
    }
}

/// <summary>A gRPC method: its kind, names and message marshallers.</summary>
/// <typeparam name="TRequest">The request message type.</typeparam>
/// <typeparam name="TResponse">The response message type.</typeparam>
public sealed class Method<TRequest, TResponse>
{
    /// <summary>Creates a method.</summary>
    public Method(MethodType type, string serviceName, string name, Marshaller<TRequest> requestMarshaller, Marshaller<TResponse> responseMarshaller)
    {
        Type = type;
        ServiceName = serviceName;
        Name = name;
        RequestMarshaller = requestMarshaller;
        ResponseMarshaller = responseMarshaller;
        FullName = "/" + serviceName + "/" + name;
    }

    /// <summary>The kind of method.</summary>
    public MethodType Type { get; }

    /// <summary>The fully qualified service name, such as <c>grpc.health.v1.Health</c>.</summary>
    public string ServiceName { get; }

    /// <summary>The method name, such as <c>Check</c>.</summary>
    public string Name { get; }

    /// <summary>The HTTP/2 path: <c>/ServiceName/Name</c>.</summary>
    public string FullName { get; }

    /// <summary>The request marshaller.</summary>
    public Marshaller<TRequest> RequestMarshaller { get; }

    /// <summary>The response marshaller.</summary>
    public Marshaller<TResponse> ResponseMarshaller { get; }
}

/// <summary>Creates <see cref="Method{TRequest, TResponse}"/> instances from protobuf descriptors.</summary>
public static class Method
{
    /// <summary>The kind of a method described by a protobuf descriptor.</summary>
    public static MethodType TypeOf(MethodDescriptor descriptor) => (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
    {
        (false, false) => MethodType.Unary,
        (true, false) => MethodType.ClientStreaming,
        (false, true) => MethodType.ServerStreaming,
        (true, true) => MethodType.DuplexStreaming,
    };

    /// <summary>
    /// Creates the method of a service descriptor by name, checking that the message types match the
    /// descriptor's.
    /// </summary>
    /// <exception cref="ArgumentException">The service has no such method, or its message types differ.</exception>
    public static Method<TRequest, TResponse> Create<TRequest, TResponse>(ServiceDescriptor service, string name)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        var descriptor = service.FindMethodByName(name)
            ?? throw new ArgumentException($"Service '{service.FullName}' has no method '{name}'.", nameof(name));
        return Create<TRequest, TResponse>(descriptor);
    }

    /// <summary>Creates the method a protobuf method descriptor describes.</summary>
    /// <exception cref="ArgumentException">The message types differ from the descriptor's.</exception>
    public static Method<TRequest, TResponse> Create<TRequest, TResponse>(MethodDescriptor descriptor)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>, new()
    {
        if (descriptor.InputType.ClrType != typeof(TRequest) || descriptor.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException(
                $"Method '{descriptor.FullName}' takes {descriptor.InputType.FullName} and returns {descriptor.OutputType.FullName}, not {typeof(TRequest).Name} and {typeof(TResponse).Name}.",
                nameof(descriptor));
        }

        return new Method<TRequest, TResponse>(
            TypeOf(descriptor),
            descriptor.Service.FullName,
            descriptor.Name,
            Marshallers.Protobuf<TRequest>(),
            Marshallers.Protobuf<TResponse>());
    }
}
