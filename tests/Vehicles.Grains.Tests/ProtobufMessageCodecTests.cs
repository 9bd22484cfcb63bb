using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Vehicles.Api.V1;
using Vehicles.Grains.Serialization;
using Vehicles.Grains.State;

namespace Vehicles.Grains.Tests;

/// <summary><see cref="ProtobufMessageCodec"/> through Orleans' own <see cref="Serializer"/> and <see cref="DeepCopier"/>, as grain calls use them.</summary>
public sealed class ProtobufMessageCodecTests : IDisposable
{
    private const int UnknownVarintField = 999;
    private const int UnknownBytesField = 1000;

    private readonly ServiceProvider _services = new ServiceCollection()
        .AddSerializer(builder => builder.AddProtobufMessages())
        .BuildServiceProvider();

    private Serializer Serializer => _services.GetRequiredService<Serializer>();

    private DeepCopier Copier => _services.GetRequiredService<DeepCopier>();

    public void Dispose() => _services.Dispose();

    public static TheoryData<IMessage> Messages() => new()
    {
        Commands.Full(),
        new StatusReport { Sequence = 7, CaptureTime = Timestamp.FromDateTimeOffset(Commands.T0), Signals = new Signals { Speed = 88, Latitude = 48.1, IsCharging = true } },
        new ServerMessage { CommandCancel = new CommandCancel { CommandId = "c3" } },
        new VehicleGrainState
        {
            Vehicle = new Vehicle { Vin = Build.Vin, FleetId = Build.Fleet, ConnectionState = ConnectionState.Online, Signals = new Signals { StateOfCharge = 64 } },
            AppliedSequence = 12,
            AppliedAbove = { 14, 15 },
            Commands = { Commands.Full() },
            LastCommandNumber = 3,
        },
        new FleetGrainState { Members = { [Build.Vin] = new FleetMemberState { Online = true, LastSeenTime = Timestamp.FromDateTimeOffset(Commands.T0) } } },
        Timestamp.FromDateTimeOffset(Commands.T0),
        Duration.FromTimeSpan(TimeSpan.FromMinutes(5)),
        new Struct { Fields = { ["a"] = Value.ForList(Value.ForNumber(1), Value.ForString("x"), Value.ForNull()), ["b"] = Value.ForBool(true) } },
        new StringValue { Value = "wrapped" },
        new Empty(),
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void RoundTrip_OfAMessage_GivesAnEqualMessageOfTheSameType(IMessage message)
    {
        var asObject = Serializer.Deserialize<object>(Serializer.SerializeToArray<object>(message));
        var asItself = RoundTrip(message);

        Assert.IsType(message.GetType(), asObject);
        Assert.Equal(message, asObject);
        Assert.NotSame(message, asObject);
        Assert.Equal(message, asItself);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void DeepCopy_OfAMessage_IsEqualButNotTheSameObject(IMessage message)
    {
        var copy = Copier.Copy<object>(message);

        Assert.Equal(message, copy);
        Assert.NotSame(message, copy);
    }

    [Fact]
    public void RoundTrip_OfAMessageTypedField_KeepsTheNestedMessages()
    {
        var command = Commands.Full();

        var copy = RoundTrip(command);

        Assert.Equal(80u, copy.Parameters.SetChargeLimit.Percent);
        Assert.Equal(command.Result, copy.Result);
        Assert.Equal(command.Ttl, copy.Ttl);
        Assert.Equal(command.NotBefore, copy.NotBefore);
    }

    [Fact]
    public void RoundTripAndCopy_OfNull_AreNull()
    {
        Assert.Null(Serializer.Deserialize<Command?>(Serializer.SerializeToArray<Command?>(null)));
        Assert.Null(Serializer.Deserialize<object?>(Serializer.SerializeToArray<object?>(null)));
        Assert.Null(Copier.Copy<Command?>(null));
        Assert.Null(RoundTrip(new CancelCommandResult(CancelCommandStatus.NotFound, null)).Command);
    }

    [Fact]
    public void RoundTrip_OfMessagesInsideContractRecords_KeepsThem()
    {
        var deliveries = new[] { CommandQueue.ToDelivery(Commands.Full()), new CommandDelivery { CommandId = "c4", Name = "honk_horn" } };
        var grant = new SessionGrant(9, deliveries, Timestamp.FromDateTimeOffset(Commands.T0));
        var receipt = new ReportReceipt(new Ack { Sequence = 5, DurableSequence = 4 }, SessionStatus.Replaced);
        var page = new CommandPage([Commands.Full()], "c1");

        var grantCopy = RoundTrip(grant);
        var receiptCopy = RoundTrip(receipt);
        var pageCopy = RoundTrip(page);

        Assert.Equal(9UL, grantCopy.DurableSequence);
        Assert.Equal(deliveries, grantCopy.Commands);
        Assert.Equal(grant.ServerTime, grantCopy.ServerTime);
        Assert.True(grantCopy.Accepted);
        Assert.Equal(receipt, receiptCopy);
        Assert.Equal(page.Commands, pageCopy.Commands);
        Assert.Equal("c1", pageCopy.NextPageToken);
    }

    [Fact]
    public void RoundTripAndCopy_OfOneMessageReferencedTwice_KeepOneObject()
    {
        var command = Commands.Full();
        var twice = new object[] { command, command };

        var roundTripped = RoundTrip(twice);
        var copied = Copier.Copy(twice);

        Assert.Same(roundTripped[0], roundTripped[1]);
        Assert.Equal(command, roundTripped[0]);
        Assert.Same(copied[0], copied[1]);
        Assert.NotSame(command, copied[0]);
    }

    [Fact]
    public void RoundTrip_OfAPayloadSpanningBufferSegments_ReadsItWhole()
    {
        var command = Commands.Full();
        command.StatusMessage = new string('x', 100_000);
        var bytes = Serializer.SerializeToArray(command);

        var copy = Serializer.Deserialize<Command>(Segmented(bytes, segmentSize: 1024));

        Assert.Equal(command, copy);
    }

    [Fact]
    public void RoundTripAndCopy_OfAMessageWithUnknownFields_KeepTheUnknownFieldBytes()
    {
        // What a newer peer would send: a known message plus fields this build's generated code does not know.
        var known = Commands.Full().ToByteArray();
        var unknown = UnknownFields();
        var withUnknown = Command.Parser.ParseFrom([.. known, .. unknown]);

        var roundTripped = RoundTrip(withUnknown);
        var copied = Copier.Copy(withUnknown);
        var insideRecord = RoundTrip(new CommandPage([withUnknown], string.Empty)).Commands[0];

        Assert.Equal([.. known, .. unknown], withUnknown.ToByteArray());
        Assert.Equal([.. known, .. unknown], roundTripped.ToByteArray());
        Assert.Equal([.. known, .. unknown], copied.ToByteArray());
        Assert.Equal([.. known, .. unknown], insideRecord.ToByteArray());
        Assert.NotEqual(Commands.Full(), roundTripped);
    }

    [Fact]
    public void DeepCopy_IsIndependentOfTheOriginal()
    {
        var original = Commands.Full();
        var grant = new SessionGrant(1, [CommandQueue.ToDelivery(original)], Timestamp.FromDateTimeOffset(Commands.T0));

        var copy = Copier.Copy(original);
        var grantCopy = Copier.Copy(grant);
        copy.Name = "changed";
        copy.Parameters.SetChargeLimit.Percent = 10;
        copy.Result.Fields["latitude"] = Value.ForNumber(0);
        grantCopy.Commands[0].Name = "changed";

        Assert.Equal("set_charge_limit", original.Name);
        Assert.Equal(80u, original.Parameters.SetChargeLimit.Percent);
        Assert.Equal(48.1, original.Result.Fields["latitude"].NumberValue);
        Assert.NotSame(grant.Commands, grantCopy.Commands);
        Assert.Equal("set_charge_limit", grant.Commands[0].Name);
    }

    private T RoundTrip<T>(T value) => Serializer.Deserialize<T>(Serializer.SerializeToArray(value))!;

    private static byte[] UnknownFields()
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            output.WriteTag(UnknownVarintField, WireFormat.WireType.Varint);
            output.WriteUInt64(12345);
            output.WriteTag(UnknownBytesField, WireFormat.WireType.LengthDelimited);
            output.WriteString("from a newer build");
        }

        return buffer.ToArray();
    }

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segmentSize)
    {
        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < bytes.Length; offset += segmentSize)
        {
            var chunk = bytes.AsMemory(offset, Math.Min(segmentSize, bytes.Length - offset));
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private static class Commands
    {
        public static readonly DateTimeOffset T0 = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

        public static Command Full() => new()
        {
            CommandId = "c1",
            Vin = Build.Vin,
            Name = "set_charge_limit",
            Parameters = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 80 } },
            State = CommandState.Delivered,
            CreateTime = Timestamp.FromDateTimeOffset(T0),
            NotBefore = Timestamp.FromDateTimeOffset(T0.AddMinutes(1)),
            ExpireTime = Timestamp.FromDateTimeOffset(T0.AddMinutes(6)),
            DeliverTime = Timestamp.FromDateTimeOffset(T0.AddMinutes(1)),
            StatusMessage = "ok",
            Result = new Struct { Fields = { ["latitude"] = Value.ForNumber(48.1) } },
            IdempotencyKey = "k1",
            RequestedBy = "operator-1",
            Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)),
        };
    }
}
