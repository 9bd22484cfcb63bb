using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Orleans.Storage;

namespace Vehicles.Storage.Tests;

public sealed class ProtobufGrainStorageSerializerTests
{
    private readonly RecordingSerializer _fallback = new();

    [Fact]
    public void Serialize_ProtobufMessage_WritesItsPlainProtobufBytes()
    {
        var serializer = new ProtobufGrainStorageSerializer(_fallback);
        var state = new Struct { Fields = { ["vin"] = Value.ForString("VIN1"), ["speed"] = Value.ForNumber(42) } };

        var bytes = serializer.Serialize(state);

        Assert.Equal(state.ToByteArray(), bytes.ToArray());
        Assert.Equal(state, serializer.Deserialize<Struct>(bytes));
        Assert.Equal(0, _fallback.Calls);
    }

    [Fact]
    public void Deserialize_BytesWithAFieldThisVersionDoesNotKnow_KeepsIt()
    {
        var serializer = new ProtobufGrainStorageSerializer(_fallback);
        var newer = new Duration { Seconds = 5, Nanos = 7 }.ToByteArray();

        // Duration's fields 1 and 2 read as Timestamp's fields 1 and 2: a stand-in for a state type that evolved.
        var read = serializer.Deserialize<Timestamp>(new BinaryData(newer));

        Assert.Equal(5, read!.Seconds);
        Assert.Equal(7, read.Nanos);
    }

    [Fact]
    public void Serialize_OtherType_GoesToTheFallback()
    {
        var serializer = new ProtobufGrainStorageSerializer(_fallback);

        var bytes = serializer.Serialize("not a message");
        var back = serializer.Deserialize<string>(bytes);

        Assert.Equal("not a message", back);
        Assert.Equal(2, _fallback.Calls);
    }

    private sealed class RecordingSerializer : IGrainStorageSerializer
    {
        private object? _last;

        public int Calls { get; private set; }

        public BinaryData Serialize<T>(T? input)
        {
            Calls++;
            _last = input;
            return new BinaryData([1, 2, 3]);
        }

        public T? Deserialize<T>(BinaryData input)
        {
            Calls++;
            return (T?)_last;
        }
    }
}
