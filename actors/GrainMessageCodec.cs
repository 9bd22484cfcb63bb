using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Google.Protobuf;

namespace Vehicles.Actors;

/// <summary>
/// The wire form of a grain call for a transport between silos: the target grain, the interface and method id, and the
/// arguments encoded by their declared types. Local calls never use it.
/// </summary>
/// <remarks>
/// Supported argument and result types: the .NET primitives, <see cref="decimal"/>, <see cref="string"/>,
/// <c>byte[]</c>, <see cref="Guid"/>, <see cref="DateTime"/>, <see cref="DateTimeOffset"/>, <see cref="TimeSpan"/>,
/// enums, <see cref="Nullable{T}"/> of those, Google.Protobuf messages (their wire format) and anything else
/// System.Text.Json round-trips (records, for instance), which follow the same versioning rule as grain state
/// (<see cref="GrainStateSerializer"/>). A failure travels as its exception type name and message and is rebuilt as that
/// type when it is loaded here and has a (string) constructor, else as <see cref="RemoteGrainException"/>.
/// </remarks>
public sealed class GrainMessageCodec
{
    private const byte FormatVersion = 1;
    private static readonly ConcurrentDictionary<Type, MessageParser> _parsers = new();
    private readonly JsonSerializerOptions _json;

    /// <summary>Creates a codec.</summary>
    public GrainMessageCodec(JsonSerializerOptions? jsonOptions = null)
    {
        _json = new JsonSerializerOptions(jsonOptions ?? new JsonSerializerOptions(JsonSerializerDefaults.General));
        _json.Converters.Add(new ProtobufJsonConverterFactory());
    }

    /// <summary>Encodes a call.</summary>
    public byte[] EncodeRequest(GrainId target, GrainRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        var method = request.Method;
        writer.Write(FormatVersion);
        writer.Write(target.Type);
        writer.Write(target.Key);
        writer.Write(method.InterfaceType.FullName ?? method.InterfaceType.Name);
        writer.Write7BitEncodedInt(method.MethodId);
        writer.Write7BitEncodedInt(method.ArgumentTypes.Count);
        for (var i = 0; i < method.ArgumentTypes.Count; i++)
        {
            WriteValue(writer, request.GetArgument(i), method.ArgumentTypes[i]);
        }

        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Decodes a call into a fresh request, ready for <see cref="ActorRuntime.DispatchLocal"/>.</summary>
    /// <exception cref="InvalidDataException">The message is malformed or names an unknown interface or method.</exception>
    public (GrainId Target, GrainRequest Request) DecodeRequest(byte[] message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return DecodeRequest(message.AsMemory());
    }

    /// <summary>Decodes a call held in a buffer (a received protobuf <c>bytes</c> field) without copying it.</summary>
    public (GrainId Target, GrainRequest Request) DecodeRequest(ReadOnlyMemory<byte> message)
    {
        using var reader = new BinaryReader(OpenRead(message));
        if (reader.ReadByte() != FormatVersion)
        {
            throw new InvalidDataException("Unknown grain message format version.");
        }

        var target = new GrainId(reader.ReadString(), reader.ReadString());
        var interfaceName = reader.ReadString();
        var methodId = reader.Read7BitEncodedInt();
        var descriptor = GrainTypeRegistry.FindInterface(interfaceName)
            ?? throw new InvalidDataException($"Unknown grain interface '{interfaceName}'.");
        var request = descriptor.CreateRequest(methodId)
            ?? throw new InvalidDataException($"Unknown method id {methodId} of grain interface '{interfaceName}'.");
        var count = reader.Read7BitEncodedInt();
        if (count != request.Method.ArgumentTypes.Count)
        {
            throw new InvalidDataException($"{request.Method} takes {request.Method.ArgumentTypes.Count} arguments; the message carries {count}.");
        }

        for (var i = 0; i < count; i++)
        {
            request.SetArgument(i, ReadValue(reader, request.Method.ArgumentTypes[i]));
        }

        return (target, request);
    }

    /// <summary>Encodes the outcome of a call: its result, or the exception it failed with.</summary>
    public byte[] EncodeResponse(GrainMethodDescriptor method, object? result, Exception? error)
    {
        ArgumentNullException.ThrowIfNull(method);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        if (error is null)
        {
            writer.Write((byte)0);
            if (method.ReturnType != typeof(void))
            {
                WriteValue(writer, result, method.ReturnType);
            }
        }
        else
        {
            writer.Write((byte)1);
            writer.Write(error.GetType().FullName ?? error.GetType().Name);
            writer.Write(error.Message);
        }

        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Decodes a response and completes the waiting request with it.</summary>
    public void CompleteRequest(GrainRequest request, byte[] response)
    {
        ArgumentNullException.ThrowIfNull(response);
        CompleteRequest(request, response.AsMemory());
    }

    /// <summary>Decodes a response held in a buffer without copying it and completes the waiting request with it.</summary>
    public void CompleteRequest(GrainRequest request, ReadOnlyMemory<byte> response)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var reader = new BinaryReader(OpenRead(response));
        if (reader.ReadByte() == 0)
        {
            request.TrySetResult(request.Method.ReturnType == typeof(void) ? null : ReadValue(reader, request.Method.ReturnType));
            return;
        }

        var typeName = reader.ReadString();
        var message = reader.ReadString();
        request.TrySetException(RebuildException(typeName, message));
    }

    private static MemoryStream OpenRead(ReadOnlyMemory<byte> buffer)
        => System.Runtime.InteropServices.MemoryMarshal.TryGetArray(buffer, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(buffer.ToArray(), writable: false);

    private static Exception RebuildException(string typeName, string message)
    {
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(typeName, throwOnError: false)).FirstOrDefault(t => t is not null);
        if (type is not null && typeof(Exception).IsAssignableFrom(type) && type.GetConstructor([typeof(string)]) is { } constructor)
        {
            return (Exception)constructor.Invoke([message]);
        }

        return new RemoteGrainException(typeName, message);
    }

    private void WriteValue(BinaryWriter writer, object? value, Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (!type.IsValueType || underlying is not null)
        {
            writer.Write(value is not null);
            if (value is null)
            {
                return;
            }

            type = underlying ?? type;
        }

        if (type.IsEnum)
        {
            writer.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        switch (value)
        {
            case bool v: writer.Write(v); return;
            case byte v: writer.Write(v); return;
            case sbyte v: writer.Write(v); return;
            case short v: writer.Write(v); return;
            case ushort v: writer.Write(v); return;
            case int v: writer.Write(v); return;
            case uint v: writer.Write(v); return;
            case long v: writer.Write(v); return;
            case ulong v: writer.Write(v); return;
            case float v: writer.Write(v); return;
            case double v: writer.Write(v); return;
            case decimal v: writer.Write(v); return;
            case char v: writer.Write(v); return;
            case string v: writer.Write(v); return;
            case Guid v: writer.Write(v.ToByteArray()); return;
            case DateTime v: writer.Write(v.ToBinary()); return;
            case DateTimeOffset v: writer.Write(v.UtcTicks); writer.Write((short)v.Offset.TotalMinutes); return;
            case TimeSpan v: writer.Write(v.Ticks); return;
            case byte[] v: writer.Write7BitEncodedInt(v.Length); writer.Write(v); return;
            case IMessage v when typeof(IMessage).IsAssignableFrom(type):
                var bytes = v.ToByteArray();
                writer.Write7BitEncodedInt(bytes.Length);
                writer.Write(bytes);
                return;
            default:
                var json = JsonSerializer.SerializeToUtf8Bytes(value, type, _json);
                writer.Write7BitEncodedInt(json.Length);
                writer.Write(json);
                return;
        }
    }

    private object? ReadValue(BinaryReader reader, Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (!type.IsValueType || underlying is not null)
        {
            if (!reader.ReadBoolean())
            {
                return null;
            }

            type = underlying ?? type;
        }

        if (type.IsEnum)
        {
            return Enum.ToObject(type, reader.ReadInt64());
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => reader.ReadBoolean(),
            TypeCode.Byte => reader.ReadByte(),
            TypeCode.SByte => reader.ReadSByte(),
            TypeCode.Int16 => reader.ReadInt16(),
            TypeCode.UInt16 => reader.ReadUInt16(),
            TypeCode.Int32 => reader.ReadInt32(),
            TypeCode.UInt32 => reader.ReadUInt32(),
            TypeCode.Int64 => reader.ReadInt64(),
            TypeCode.UInt64 => reader.ReadUInt64(),
            TypeCode.Single => reader.ReadSingle(),
            TypeCode.Double => reader.ReadDouble(),
            TypeCode.Decimal => reader.ReadDecimal(),
            TypeCode.Char => reader.ReadChar(),
            TypeCode.String => reader.ReadString(),
            TypeCode.DateTime => DateTime.FromBinary(reader.ReadInt64()),
            _ => ReadOther(reader, type),
        };
    }

    private object? ReadOther(BinaryReader reader, Type type)
    {
        if (type == typeof(Guid))
        {
            return new Guid(reader.ReadBytes(16));
        }

        if (type == typeof(DateTimeOffset))
        {
            var utcTicks = reader.ReadInt64();
            var offset = TimeSpan.FromMinutes(reader.ReadInt16());
            return new DateTimeOffset(utcTicks + offset.Ticks, offset);
        }

        if (type == typeof(TimeSpan))
        {
            return new TimeSpan(reader.ReadInt64());
        }

        var bytes = reader.ReadBytes(reader.Read7BitEncodedInt());
        if (type == typeof(byte[]))
        {
            return bytes;
        }

        if (typeof(IMessage).IsAssignableFrom(type))
        {
            var parser = _parsers.GetOrAdd(type, static t => (MessageParser)(t.GetProperty("Parser", BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
                ?? throw new InvalidDataException($"Protobuf message type {t} has no static Parser.")));
            return parser.ParseFrom(bytes);
        }

        return JsonSerializer.Deserialize(bytes, type, _json);
    }
}

/// <summary>
/// Writes Google.Protobuf messages nested in records (a command's parameters, a timestamp) as base64 of their wire
/// format: System.Text.Json cannot rebuild their read-only repeated fields and oneofs.
/// </summary>
internal sealed class ProtobufJsonConverterFactory : System.Text.Json.Serialization.JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeof(IMessage).IsAssignableFrom(typeToConvert) && !typeToConvert.IsAbstract;

    public override System.Text.Json.Serialization.JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options)
        => (System.Text.Json.Serialization.JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert))!;

    private sealed class Converter<T> : System.Text.Json.Serialization.JsonConverter<T>
        where T : IMessage<T>, new()
    {
        private static readonly MessageParser<T> _parser = new(static () => new T());

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            => _parser.ParseFrom(reader.GetBytesFromBase64());

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
            => writer.WriteBase64StringValue(value.ToByteArray());
    }
}

/// <summary>A grain call failed on another silo with an exception type this process cannot rebuild.</summary>
public sealed class RemoteGrainException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RemoteGrainException(string exceptionType, string message)
        : base(exceptionType + ": " + message)
    {
        ExceptionType = exceptionType;
    }

    /// <summary>The full name of the original exception type.</summary>
    public string ExceptionType { get; }
}
