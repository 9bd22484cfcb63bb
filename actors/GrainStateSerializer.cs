using System.Reflection;
using System.Text.Json;
using Google.Protobuf;

namespace Vehicles.Actors;

/// <summary>Turns grain state into bytes for <c>IGrainStorage</c> and back.</summary>
public interface IGrainStateSerializer
{
    /// <summary>Serializes a state.</summary>
    byte[] Serialize<TState>(TState state);

    /// <summary>Deserializes a state written by <see cref="Serialize"/>, possibly by an older or newer version of <typeparamref name="TState"/>.</summary>
    TState Deserialize<TState>(ReadOnlySpan<byte> data);

    /// <summary>A fresh state for a grain with nothing stored.</summary>
    TState CreateDefault<TState>();
}

/// <summary>
/// The default state serializer. Google.Protobuf messages are stored in the protobuf wire format; every other type as
/// UTF-8 JSON through System.Text.Json (public properties, names as declared).
/// </summary>
/// <remarks>
/// <para>Versioning rule: a state type may gain fields and properties (and lose them) between versions, and stored state
/// still reads both ways. A newer reader fills a missing member with its default (a record's constructor parameter gets
/// its default value; a property keeps its initializer); an older reader skips members it does not know (protobuf keeps
/// them as unknown fields, JSON ignores them).</para>
/// <para>Not allowed: renaming a member, changing its type, reusing a removed protobuf field number, or marking a new
/// member <c>required</c>/<c>[JsonRequired]</c> — those break reading stored state.</para>
/// </remarks>
public sealed class GrainStateSerializer : IGrainStateSerializer
{
    private static readonly JsonSerializerOptions _jsonOptions = new(JsonSerializerDefaults.General);

    /// <inheritdoc />
    public byte[] Serialize<TState>(TState state)
    {
        if (state is IMessage message)
        {
            return message.ToByteArray();
        }

        return JsonSerializer.SerializeToUtf8Bytes(state, _jsonOptions);
    }

    /// <inheritdoc />
    public TState Deserialize<TState>(ReadOnlySpan<byte> data)
    {
        if (ProtobufParser<TState>.Parser is { } parser)
        {
            return (TState)parser.ParseFrom(data);
        }

        return JsonSerializer.Deserialize<TState>(data, _jsonOptions) ?? CreateDefault<TState>();
    }

    /// <inheritdoc />
    public TState CreateDefault<TState>()
    {
        if (typeof(TState).IsValueType)
        {
            return default!;
        }

        if (typeof(TState) == typeof(string))
        {
            return (TState)(object)string.Empty;
        }

        if (typeof(TState).GetConstructor(Type.EmptyTypes) is null)
        {
            throw new InvalidOperationException($"State type {typeof(TState)} needs a public parameterless constructor so that a grain without stored state gets a fresh instance.");
        }

        return Activator.CreateInstance<TState>();
    }

    private static class ProtobufParser<TState>
    {
        // Resolved once per type: the generated static Parser property of a protobuf message.
        public static readonly MessageParser? Parser = typeof(IMessage).IsAssignableFrom(typeof(TState))
            ? typeof(TState).GetProperty("Parser", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as MessageParser
            : null;
    }
}
