using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Vehicles.Storage.Tests;

/// <summary>Builds the batched grain storage outside a silo, as AddVehicleStorage does inside one.</summary>
internal static class StorageHarness
{
    public const string StateName = "vehicle-state";

    private static readonly ServiceProvider _services = new ServiceCollection().AddSerializer().BuildServiceProvider();

    public static ProtobufGrainStorageSerializer Serializer { get; } =
        new(new OrleansGrainStorageSerializer(_services.GetRequiredService<Serializer>()));

    public static IActivatorProvider Activators => _services.GetRequiredService<IActivatorProvider>();

    public static BatchedGrainStorage Create(VehicleStorageOptions options, string serviceId) => options.Provider == VehicleStorageProvider.PostgreSql
        ? new PostgresGrainStorage("vehicles", options, serviceId, Serializer, Activators)
        : new SqliteGrainStorage("vehicles", options, serviceId, Serializer, Activators);

    public static GrainId Grain(string key) => GrainId.Create("vehicle", key);

    /// <summary>Writes <paramref name="text"/> with <paramref name="etag"/> and returns the new ETag.</summary>
    public static async Task<string> WriteAsync(IGrainStorage storage, string key, string text, string? etag)
    {
        var state = new GrainState<StringValue>(new StringValue { Value = text }) { ETag = etag };
        await storage.WriteStateAsync(StateName, Grain(key), state);
        Assert.True(state.RecordExists);
        Assert.NotNull(state.ETag);
        return state.ETag;
    }

    /// <summary>Clears with <paramref name="etag"/> and returns the ETag the state has after the clear.</summary>
    public static async Task<string?> ClearAsync(IGrainStorage storage, string key, string? etag)
    {
        var state = new GrainState<StringValue>(new StringValue { Value = "before clear" }) { ETag = etag, RecordExists = true };
        await storage.ClearStateAsync(StateName, Grain(key), state);
        Assert.False(state.RecordExists);
        return state.ETag;
    }

    public static async Task<GrainState<StringValue>> ReadAsync(IGrainStorage storage, string key)
    {
        var state = new GrainState<StringValue>(new StringValue { Value = "stale in memory" });
        await storage.ReadStateAsync(StateName, Grain(key), state);
        return state;
    }

    public static async Task AssertStoredAsync(IGrainStorage storage, string key, string text, string etag)
    {
        var state = await ReadAsync(storage, key);
        Assert.True(state.RecordExists);
        Assert.Equal(text, state.State!.Value);
        Assert.Equal(etag, state.ETag);
    }
}
