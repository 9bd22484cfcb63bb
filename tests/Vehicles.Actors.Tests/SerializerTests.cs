using Google.Protobuf.WellKnownTypes;

namespace Vehicles.Actors.Tests;

public sealed record VehicleStateV1(string Vin, int Mileage);

public sealed record VehicleStateV2(string Vin, int Mileage, string? Firmware = "unknown");

public sealed class SerializerTests
{
    private readonly GrainStateSerializer _serializer = new();

    [Fact]
    public void JsonState_WrittenByV1_ReadsAsV2_WithTheNewFieldDefaulted()
    {
        var bytes = _serializer.Serialize(new VehicleStateV1("VIN1", 42));

        var state = _serializer.Deserialize<VehicleStateV2>(bytes);

        Assert.Equal(new VehicleStateV2("VIN1", 42, "unknown"), state);
    }

    [Fact]
    public void JsonState_WrittenByV2_ReadsAsV1_IgnoringTheNewField()
    {
        var bytes = _serializer.Serialize(new VehicleStateV2("VIN2", 7, "1.2.3"));

        var state = _serializer.Deserialize<VehicleStateV1>(bytes);

        Assert.Equal(new VehicleStateV1("VIN2", 7), state);
    }

    [Fact]
    public void ProtobufState_WrittenWithMoreFields_ReadsWithFewer_AndKeepsTheUnknownOnRewrite()
    {
        // Timestamp {1: seconds, 2: nanos} plays V2 of Int64Value {1: value}.
        var v2Bytes = _serializer.Serialize(new Timestamp { Seconds = 5, Nanos = 7 });

        var v1 = _serializer.Deserialize<Int64Value>(v2Bytes);
        var rewritten = _serializer.Deserialize<Timestamp>(_serializer.Serialize(v1));
        var v1ReadAsV2 = _serializer.Deserialize<Timestamp>(_serializer.Serialize(new Int64Value { Value = 9 }));

        Assert.Equal(5, v1.Value);
        Assert.Equal(new Timestamp { Seconds = 5, Nanos = 7 }, rewritten);
        Assert.Equal(new Timestamp { Seconds = 9, Nanos = 0 }, v1ReadAsV2);
    }

    [Fact]
    public void CreateDefault_ForAClass_ReturnsAFreshInstance()
    {
        var first = _serializer.CreateDefault<Profile>();
        var second = _serializer.CreateDefault<Profile>();

        Assert.NotSame(first, second);
        Assert.Equal(string.Empty, first.Name);
    }
}
