using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Vehicles.Storage;

namespace Vehicles.Grains.Benchmarks;

/// <summary>The grain the storage run writes through: one protobuf state in the "vehicles" provider.</summary>
[Alias("vehicles.benchmarks.IStateWriterGrain")]
public interface IStateWriterGrain : IGrainWithStringKey
{
    /// <summary>Changes the state (its first four bytes become <paramref name="sequence"/>) and writes it.</summary>
    Task WriteAsync(int sequence, int payloadBytes);
}

/// <summary>Rewrites a <see cref="BytesValue"/> state of a fixed size, as a vehicle's checkpoint does.</summary>
public sealed class StateWriterGrain(
    [PersistentState("grains-bench-state", VehicleStorageSiloBuilderExtensions.StorageProviderName)] IPersistentState<BytesValue> state)
    : Grain, IStateWriterGrain
{
    private byte[]? _payload;

    /// <inheritdoc />
    public async Task WriteAsync(int sequence, int payloadBytes)
    {
        if (_payload is null || _payload.Length != payloadBytes)
        {
            _payload = new byte[payloadBytes];
            Random.Shared.NextBytes(_payload);
        }

        BinaryPrimitives.WriteInt32LittleEndian(_payload, sequence);
        state.State = new BytesValue { Value = ByteString.CopyFrom(_payload) };
        await state.WriteStateAsync();
    }
}

/// <summary>The grain the call run calls.</summary>
[Alias("vehicles.benchmarks.ICounterGrain")]
public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds to the counter (completes synchronously: measures the runtime, not the grain).</summary>
    ValueTask<long> AddAsync(long delta);

    /// <summary>The same through a Task-returning method.</summary>
    Task<long> AddTaskAsync(long delta);
}

/// <summary>A counter grain.</summary>
public sealed class CounterGrain : Grain, ICounterGrain
{
    private long _total;

    /// <inheritdoc />
    public ValueTask<long> AddAsync(long delta) => new(_total += delta);

    /// <inheritdoc />
    public Task<long> AddTaskAsync(long delta) => Task.FromResult(_total += delta);
}

/// <summary>The same logic as a plain object, to price a direct call.</summary>
public sealed class DirectCounter
{
    private long _total;

    /// <summary>Adds to the counter.</summary>
    public ValueTask<long> AddAsync(long delta) => new(_total += delta);
}

/// <summary>A small state: what a parked vehicle keeps (the same shape as the old runtime's benchmark).</summary>
[GenerateSerializer]
[Alias("vehicles.benchmarks.ParkedState")]
public sealed class ParkedState
{
    /// <summary>Odometer in metres.</summary>
    [Id(0)]
    public long Odometer { get; set; }

    /// <summary>Battery level in percent.</summary>
    [Id(1)]
    public int Battery { get; set; }
}

/// <summary>The grain the memory run activates a million times.</summary>
[Alias("vehicles.benchmarks.IParkedVehicleGrain")]
public interface IParkedVehicleGrain : IGrainWithStringKey
{
    /// <summary>Touches the grain so that it activates.</summary>
    Task<int> GetBatteryAsync();
}

/// <summary>An idle vehicle with a small persistent state.</summary>
public sealed class ParkedVehicleGrain(
    [PersistentState("parked", MemoryBenchmark.StorageName)] IPersistentState<ParkedState> state)
    : Grain, IParkedVehicleGrain
{
    /// <inheritdoc />
    public Task<int> GetBatteryAsync() => Task.FromResult(state.State.Battery);
}
