namespace Vehicles.Actors.Benchmarks;

/// <summary>The grain the throughput run calls.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds to the counter (completes synchronously: measures the runtime, not the grain).</summary>
    ValueTask<long> AddAsync(long delta);

    /// <summary>The same through a Task-returning method (the proxy converts to Task).</summary>
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
public sealed class DirectCounter : ICounterGrain
{
    private long _total;

    /// <inheritdoc />
    public ValueTask<long> AddAsync(long delta) => new(_total += delta);

    /// <inheritdoc />
    public Task<long> AddTaskAsync(long delta) => Task.FromResult(_total += delta);
}

/// <summary>A small state: what a parked vehicle keeps.</summary>
public sealed class ParkedState
{
    /// <summary>Odometer in metres.</summary>
    public long Odometer { get; set; }

    /// <summary>Battery level in percent.</summary>
    public int Battery { get; set; }
}

/// <summary>The grain the memory run activates a million times.</summary>
public interface IParkedVehicleGrain : IGrainWithStringKey
{
    /// <summary>Touches the grain so that it activates.</summary>
    Task<int> GetBatteryAsync();
}

/// <summary>An idle vehicle with a small persistent state.</summary>
public sealed class ParkedVehicleGrain([PersistentState("parked")] IPersistentState<ParkedState> state) : Grain, IParkedVehicleGrain
{
    /// <inheritdoc />
    public Task<int> GetBatteryAsync() => Task.FromResult(state.State.Battery);
}
