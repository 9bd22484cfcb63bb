using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Google.Protobuf;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.Serializers;
using Orleans.Serialization;
using Orleans.Serialization.WireProtocol;

namespace Vehicles.Grains.Serialization;

/// <summary>
/// Lets Google.Protobuf messages (the vehicles.v1 messages, their well-known types and the grains' own state) cross
/// grain calls: Orleans serializes and copies them through this codec. On the wire a message is one tag-delimited
/// object holding two fields: 0, the message's CLR type (through the session's type codec, so aliases and the type
/// allow-list apply), and 1, the message's protobuf encoding. The protobuf bytes carry whatever the message held,
/// unknown fields included, so a silo running an older build relays a newer peer's fields unchanged.
/// Copies use the generated <c>Clone()</c> (a deep copy that also keeps unknown fields), not a serialize round trip.
/// </summary>
[Alias(WellKnownAlias)]
public sealed class ProtobufMessageCodec : IGeneralizedCodec, IGeneralizedCopier, ITypeFilter
{
    /// <summary>The alias the codec is known by on the wire.</summary>
    public const string WellKnownAlias = "vehicles.protobuf";

    private const uint TypeFieldId = 0;
    private const uint PayloadFieldId = 1;

    private static readonly Type _codecType = typeof(ProtobufMessageCodec);
    private static readonly ConcurrentDictionary<Type, MessageSupport?> _support = new();
    private static readonly MethodInfo _cloneDefinition = typeof(ProtobufMessageCodec).GetMethod(nameof(CloneAs), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <inheritdoc />
    bool IGeneralizedCodec.IsSupportedType(Type type) => type == _codecType || SupportFor(type) is not null;

    /// <inheritdoc />
    bool IGeneralizedCopier.IsSupportedType(Type type) => SupportFor(type) is not null;

    /// <inheritdoc />
    bool? ITypeFilter.IsTypeAllowed(Type type) => SupportFor(type) is not null ? true : null;

    /// <inheritdoc />
    [return: NotNullIfNotNull(nameof(input))]
    public object? DeepCopy(object? input, CopyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (input is null)
        {
            return null;
        }

        if (context.TryGetCopy(input, out object? copy) && copy is not null)
        {
            return copy;
        }

        var support = SupportFor(input.GetType()) ?? throw new NotSupportedException(input.GetType() + " is not a protobuf message.");
        copy = support.Clone(input);
        context.RecordCopy(input, copy);
        return copy;
    }

    /// <inheritdoc />
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, object? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return;
        }

        var message = value as IMessage ?? throw new NotSupportedException(value!.GetType() + " is not a protobuf message.");
        writer.WriteFieldHeader(fieldIdDelta, expectedType, _codecType, WireType.TagDelimited);

        ReferenceCodec.MarkValueField(writer.Session);
        writer.WriteFieldHeaderExpected(TypeFieldId, WireType.LengthPrefixed);
        writer.Session.TypeCodec.WriteLengthPrefixed(ref writer, message.GetType());

        var size = message.CalculateSize();
        ReferenceCodec.MarkValueField(writer.Session);
        writer.WriteFieldHeaderExpected(PayloadFieldId - TypeFieldId, WireType.LengthPrefixed);
        writer.WriteVarUInt32((uint)size);
        if (size > 0)
        {
            writer.EnsureContiguous(size);
            message.WriteTo(writer.WritableSpan[..size]);
            writer.AdvanceSpan(size);
        }

        writer.WriteEndObject();
    }

    /// <inheritdoc />
    public object ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.IsReference)
        {
            return ReferenceCodec.ReadReference(ref reader, field.FieldType)!;
        }

        field.EnsureWireTypeTagDelimited();
        var placeholder = ReferenceCodec.CreateRecordPlaceholder(reader.Session);
        Type? type = null;
        IMessage? message = null;
        uint id = 0;
        while (true)
        {
            var header = reader.ReadFieldHeader();
            if (header.IsEndBaseOrEndObject)
            {
                break;
            }

            id += header.FieldIdDelta;
            if (id == TypeFieldId)
            {
                ReferenceCodec.MarkValueField(reader.Session);
                type = reader.Session.TypeCodec.ReadLengthPrefixed(ref reader);
            }
            else if (id == PayloadFieldId)
            {
                var support = (type is null ? null : SupportFor(type))
                    ?? throw new NotSupportedException("A protobuf payload arrived without a known message type (" + type + ").");
                ReferenceCodec.MarkValueField(reader.Session);
                message = Parse(ref reader, support.Parser);
            }
            else
            {
                reader.ConsumeUnknownField(header);
            }
        }

        if (message is null)
        {
            throw new NotSupportedException("A protobuf message arrived without its payload field.");
        }

        ReferenceCodec.RecordObject(reader.Session, message, placeholder);
        return message;
    }

    private static IMessage Parse<TInput>(ref Reader<TInput> reader, MessageParser parser)
    {
        var length = reader.ReadVarUInt32();
        if (length > int.MaxValue)
        {
            throw new InvalidDataException("A protobuf payload declares " + length + " bytes.");
        }

        if (reader.TryReadBytes((int)length, out var contiguous))
        {
            return parser.ParseFrom(contiguous);
        }

        // The payload spans buffer segments: gather it first.
        var rented = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            var span = rented.AsSpan(0, (int)length);
            reader.ReadBytes(span);
            return parser.ParseFrom(span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Concrete generated message classes only: IMessage itself, abstract types and anything else stay with Orleans.
    private static MessageSupport? SupportFor(Type type) => _support.GetOrAdd(type, static t =>
    {
        if (!typeof(IMessage).IsAssignableFrom(t) || t.IsAbstract || t.IsInterface || t.IsGenericTypeDefinition
            || t.GetConstructor(Type.EmptyTypes) is null || !typeof(IDeepCloneable<>).MakeGenericType(t).IsAssignableFrom(t))
        {
            return null;
        }

        var parser = ((IMessage)Activator.CreateInstance(t)!).Descriptor.Parser;
        var clone = _cloneDefinition.MakeGenericMethod(t).CreateDelegate<Func<object, object>>();
        return new MessageSupport(parser, clone);
    });

    private static object CloneAs<T>(object message)
        where T : IDeepCloneable<T> => ((T)message).Clone()!;

    private sealed class MessageSupport(MessageParser parser, Func<object, object> clone)
    {
        public MessageParser Parser { get; } = parser;

        public object Clone(object message) => clone(message);
    }
}
