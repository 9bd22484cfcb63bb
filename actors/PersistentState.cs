using Vehicles.Persistence;

namespace Vehicles.Actors;

/// <summary>Lets the runtime read every state of a grain before <see cref="Grain.OnActivateAsync"/>.</summary>
internal interface IPersistentStateLoader
{
    Task ReadStateAsync(CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IPersistentState{TState}"/> over an <see cref="IGrainStorage"/>: the ETag of the last read or write fences
/// the next write, so a write after someone else's fails with <see cref="InconsistentStateException"/> (the storage checks).
/// </summary>
internal sealed class PersistentState<TState>(IGrainStorage storage, string storageType, string key, IGrainStateSerializer serializer)
    : IPersistentState<TState>, IPersistentStateLoader
{
    public TState State { get; set; } = serializer.CreateDefault<TState>();

    public string? Etag { get; private set; }

    public bool RecordExists { get; private set; }

    public async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var stored = await storage.ReadAsync(storageType, key, cancellationToken);
        if (stored is null)
        {
            State = serializer.CreateDefault<TState>();
            Etag = null;
            RecordExists = false;
            return;
        }

        State = serializer.Deserialize<TState>(stored.Data.Span);
        Etag = stored.Etag;
        RecordExists = true;
    }

    public async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        var data = serializer.Serialize(State);
        Etag = await storage.WriteAsync(storageType, key, data, Etag, cancellationToken);
        RecordExists = true;
    }

    public async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        await storage.ClearAsync(storageType, key, Etag, cancellationToken);
        Etag = null;
        RecordExists = false;
        State = serializer.CreateDefault<TState>();
    }
}
