using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;

namespace Vehicles.Actors.Tests;

public interface IAllTypesGrain : IGrainWithStringKey
{
    Task<string> DescribeAsync(
        int number, long big, bool flag, double ratio, decimal money, string? note, byte[] blob, Guid id,
        DateTimeOffset at, TimeSpan span, DayOfWeek day, int? maybe, Timestamp stamp, VehicleStateV2 record);

    Task<VehicleStateV2> GetRecordAsync(string vin);

    Task FailAsync(string message);
}

public sealed class AllTypesGrain : Grain, IAllTypesGrain
{
    public Task<string> DescribeAsync(
        int number, long big, bool flag, double ratio, decimal money, string? note, byte[] blob, Guid id,
        DateTimeOffset at, TimeSpan span, DayOfWeek day, int? maybe, Timestamp stamp, VehicleStateV2 record)
        => Task.FromResult(string.Join(
            "|",
            number, big, flag, ratio.ToString(System.Globalization.CultureInfo.InvariantCulture), money.ToString(System.Globalization.CultureInfo.InvariantCulture),
            note ?? "null", Convert.ToHexString(blob), id, at.ToString("O", System.Globalization.CultureInfo.InvariantCulture), span, day, maybe?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null", stamp.Seconds, record));

    public Task<VehicleStateV2> GetRecordAsync(string vin) => Task.FromResult(new VehicleStateV2(vin, 1000, "2.0"));

    public Task FailAsync(string message) => throw new InvalidOperationException(message);
}

public sealed class CodecTests
{
    private readonly GrainMessageCodec _codec = new();

    [Fact]
    public async Task EncodedCall_DecodedOnAnotherSilo_RunsWithTheSameArguments_AndItsAnswerTravelsBack()
    {
        var wire = new WireTransport(_codec);
        await using var remoteSilo = await TestSilo.StartAsync();
        wire.Remote = remoteSilo.Runtime;
        await using var localSilo = await TestSilo.StartAsync(services: s =>
        {
            s.AddSingleton<IPlacementDirector>(new NothingLocal());
            s.AddSingleton<IGrainCallTransport>(wire);
        });
        var grain = localSilo.Grains.GetGrain<IAllTypesGrain>("VIN5");
        var at = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.FromHours(2));

        var description = await Eventually.Within(grain.DescribeAsync(
            42, long.MaxValue, true, 0.25, 12.5m, null, [1, 2, 255], Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
            at, TimeSpan.FromMinutes(90), DayOfWeek.Friday, 7, new Timestamp { Seconds = 99 }, new VehicleStateV2("VIN5", 12, null)));
        var record = await Eventually.Within(grain.GetRecordAsync("VIN6"));
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.FailAsync("refused"));

        Assert.Equal(
            $"42|{long.MaxValue}|True|0.25|12.5|null|0102FF|6f9619ff-8b86-d011-b42d-00cf4fc964ff|{at:O}|01:30:00|Friday|7|99|VehicleStateV2 {{ Vin = VIN5, Mileage = 12, Firmware =  }}",
            description);
        Assert.Equal(new VehicleStateV2("VIN6", 1000, "2.0"), record);
        Assert.Equal("refused", failure.Message);
        Assert.Equal(0, localSilo.Runtime.ActivationCount);
        Assert.Equal(1, remoteSilo.Runtime.ActivationCount);
        Assert.Equal(3, wire.Messages);
    }

    [Fact]
    public void DecodeRequest_WithAnUnknownInterface_ThrowsInvalidDataException()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write((byte)1);
            writer.Write("echo");
            writer.Write("key");
            writer.Write("No.Such.IGrain");
            writer.Write7BitEncodedInt(0);
            writer.Write7BitEncodedInt(0);
        }

        var error = Assert.Throws<InvalidDataException>(() => _codec.DecodeRequest(stream.ToArray()));

        Assert.Equal("Unknown grain interface 'No.Such.IGrain'.", error.Message);
    }

    [Fact]
    public void DecodeRequest_WithAnUnknownMethodId_ThrowsInvalidDataException()
    {
        var request = GrainTypeRegistry.FindInterface(typeof(IEchoGrain))!.CreateRequest(0)!;
        request.SetArgument(0, "x");
        var bytes = _codec.EncodeRequest(new GrainId("echo", "key"), request);
        var methodIdOffset = bytes.Length - 1 - 1 - 2 - 1;
        bytes[methodIdOffset] = 99;

        var error = Assert.Throws<InvalidDataException>(() => _codec.DecodeRequest(bytes));

        Assert.Equal($"Unknown method id 99 of grain interface '{typeof(IEchoGrain).FullName}'.", error.Message);
    }

    private sealed class NothingLocal : IPlacementDirector
    {
        public bool IsLocal(GrainId grainId) => false;
    }

    /// <summary>Carries calls as bytes to another runtime, as a network transport would.</summary>
    private sealed class WireTransport(GrainMessageCodec codec) : IGrainCallTransport
    {
        private int _messages;

        public ActorRuntime? Remote { get; set; }

        public int Messages => _messages;

        public void Send(GrainId target, GrainRequest request)
        {
            Interlocked.Increment(ref _messages);
            var bytes = codec.EncodeRequest(target, request);
            _ = DeliverAsync(bytes, request);
        }

        private async Task DeliverAsync(byte[] bytes, GrainRequest caller)
        {
            var (target, incoming) = codec.DecodeRequest(bytes);
            Remote!.DispatchLocal(target, incoming);
            byte[] response;
            try
            {
                response = codec.EncodeResponse(incoming.Method, await incoming.GetResultAsync(), null);
            }
            catch (Exception ex)
            {
                response = codec.EncodeResponse(incoming.Method, null, ex);
            }

            codec.CompleteRequest(caller, response);
        }
    }
}
