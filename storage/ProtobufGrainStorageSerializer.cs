using System.Reflection;
using Google.Protobuf;
using Orleans.Storage;

namespace Vehicles.Storage;

/// <summary>
/// Stores grain state that is a protobuf message (<see cref="IMessage"/>) as its plain protobuf bytes, so that stored
/// state stays readable by any protobuf tool and evolves by protobuf's rules (new fields, unknown fields kept).
/// Other state types go to the fallback serializer, normally Orleans' own (<see cref="OrleansGrainStorageSerializer"/>).
/// </summary>
/// <remarks>
/// The bytes carry no marker: changing a state type between protobuf and non-protobuf needs a new state name.
/// </remarks>
public sealed class ProtobufGrainStorageSerializer : IGrainStorageSerializer
{
    private readonly IGrainStorageSerializer _fallback;

    /// <summary>Creates the serializer with <paramref name="fallback"/> for state types that are not protobuf messages.</summary>
    public ProtobufGrainStorageSerializer(IGrainStorageSerializer fallback)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        _fallback = fallback;
    }

    /// <inheritdoc />
    public BinaryData Serialize<T>(T? input)
    {
        if (ProtobufType<T>.Parser is null)
        {
            return _fallback.Serialize(input);
        }

        return input is IMessage message ? new BinaryData(message.ToByteArray()) : new BinaryData(ReadOnlyMemory<byte>.Empty);
    }

    /// <inheritdoc />
    public T? Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var parser = ProtobufType<T>.Parser;
        return parser is null ? _fallback.Deserialize<T>(input) : (T)parser.ParseFrom(input.ToMemory().Span);
    }

    /// <summary>The generated parser of <typeparamref name="T"/> when it is a protobuf message, found once per type.</summary>
    private static class ProtobufType<T>
    {
        public static readonly MessageParser? Parser = Find();

        private static MessageParser? Find()
        {
            if (!typeof(IMessage).IsAssignableFrom(typeof(T)) || typeof(T).IsAbstract || typeof(T).IsInterface)
            {
                return null;
            }

            // Every generated message class has a static Parser property.
            var property = typeof(T).GetProperty("Parser", BindingFlags.Public | BindingFlags.Static);
            return property?.GetValue(null) as MessageParser
                ?? throw new InvalidOperationException($"{typeof(T)} is a protobuf message without a static Parser property.");
        }
    }
}
