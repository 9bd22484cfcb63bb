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
/// A fenced write also deactivates the activation, as in Orleans: its copy is stale (another activation of the grain, on
/// another silo during a membership change, wrote since), and the next call activates it afresh from storage.
/// </summary>
internal sealed class PersistentState<TState>(IGrainStorage storage, string storageType, Activation activation, IGrainStateSerializer serializer)
    : IPersistentState<TState>, IPersistentStateLoader
{
    private readonly string _key = activation.GrainId.Key;

    public TState State { get; set; } = serializer.CreateDefault<TState>();

    public string? Etag { get; private set; }

    public bool RecordExists { get; private set; }

    public async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var stored = await storage.ReadAsync(storageType, _key, cancellationToken);
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
        try
        {
            Etag = await storage.WriteAsync(storageType, _key, data, Etag, cancellationToken);
        }
        catch (InconsistentStateException)
        {
            DeactivateStale();
            throw;
        }

        RecordExists = true;
    }

    public async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await storage.ClearAsync(storageType, _key, Etag, cancellationToken);
        }
        catch (InconsistentStateException)
        {
            DeactivateStale();
            throw;
        }

        Etag = null;
        RecordExists = false;
        State = serializer.CreateDefault<TState>();
    }

    private void DeactivateStale() => activation.RequestDeactivation(
        new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "A state write was fenced: another activation wrote the state since this one read it."),
        onlyIfIdle: false);
}
