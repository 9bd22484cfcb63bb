using Microsoft.Extensions.Logging;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Vehicles.Storage;

/// <summary>
/// Orleans grain storage on our <c>grain_state</c> table, one row per (service id, grain id, state name), that
/// coalesces the writes and clears of many grains into batches (<see cref="WriteBatcher"/>): a database round trip
/// (PostgreSQL) or transaction (SQLite) carries up to <see cref="VehicleStorageOptions.MaxBatchSize"/> of them.
/// What both databases share lives here: the ETag rules, serialization, initialization and shutdown.
/// </summary>
/// <remarks>
/// <para>ETags are the row's version (a decimal number). A write with a <see langword="null"/> ETag inserts the row
/// and fails if any row exists; a write or clear with an ETag succeeds only if the row has that version. A failed
/// check throws <see cref="InconsistentStateException"/> and changes nothing.</para>
/// <para>A clear keeps the row with no payload and a new version (a tombstone), so that an ETag from before the
/// clear never matches a row written after it; <see cref="IGrainState{T}.ETag"/> keeps that version and
/// <see cref="IGrainState{T}.RecordExists"/> becomes <see langword="false"/>. There is no equivalent of the ADO.NET
/// provider's <c>DeleteStateOnClear</c>: a deleted row would let a stale ETag match again.</para>
/// <para>A write's task completes once its batch has committed. Stopping the silo (or disposing) completes every
/// accepted operation first.</para>
/// </remarks>
public abstract class BatchedGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private readonly string _name;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activators;
    private readonly WriteBatcher _batcher;
    private readonly Lock _initializeLock = new();
    private Task? _initialization;
    private volatile bool _initialized;
    private int _disposed;

    private protected BatchedGrainStorage(
        string name,
        VehicleStorageOptions options,
        string serviceId,
        IGrainStorageSerializer serializer,
        IActivatorProvider activators,
        int maxConcurrentBatches,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(serviceId);
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(activators);
        options.Validate();
        _name = name;
        Options = options;
        ServiceId = serviceId;
        _serializer = serializer;
        _activators = activators;
        Logger = logger;

        // The delegate runs only after the derived constructor has finished (first write at the earliest).
        _batcher = new WriteBatcher(ExecuteBatchAsync, options.MaxBatchSize, maxConcurrentBatches, logger, options.MaxBatchBytes);
    }

    /// <summary>How many writes and clears went to the database, in how many batches.</summary>
    public WriteBatchStatistics WriteStatistics => _batcher.Statistics;

    /// <summary>The service id that is part of every row's key.</summary>
    public string ServiceId { get; }

    private protected VehicleStorageOptions Options { get; }

    private protected ILogger Logger { get; }

    /// <summary>
    /// Brings the schema up to date and opens what the provider holds. Idempotent; runs at silo start and otherwise on
    /// first use. A failed attempt is forgotten, so the next call tries again.
    /// </summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_initialized)
        {
            return Task.CompletedTask;
        }

        Task task;
        lock (_initializeLock)
        {
            if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled)
            {
                // The shared attempt must not die with one caller's token; each caller still stops waiting on its own.
                _initialization = Task.Run(async () =>
                {
                    await VehicleSchema.EnsureAsync(Options, Logger, CancellationToken.None).ConfigureAwait(false);
                    await OpenAsync().ConfigureAwait(false);
                    _initialized = true;
                }, CancellationToken.None);
            }

            task = _initialization;
        }

        return task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        await EnterAsync().ConfigureAwait(false);
        var stored = await ReadCoreAsync(stateName, grainId.ToString()).ConfigureAwait(false);
        if (stored is { Payload: { } payload })
        {
            grainState.State = _serializer.Deserialize<T>(new BinaryData(payload));
            grainState.ETag = GrainWrite.FormatEtag(stored.Value.Version);
            grainState.RecordExists = true;
        }
        else
        {
            // No row, or a cleared one: the default state, and the tombstone's version as the ETag to write on.
            grainState.State = _activators.GetActivator<T>().Create();
            grainState.ETag = stored is { Version: var version } ? GrainWrite.FormatEtag(version) : null;
            grainState.RecordExists = false;
        }
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var data = _serializer.Serialize(grainState.State);
        await EnterAsync().ConfigureAwait(false);
        var etag = await _batcher.EnqueueAsync(GrainWrite.Write(stateName, grainId.ToString(), data.ToMemory(), grainState.ETag)).ConfigureAwait(false);
        grainState.ETag = etag;
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        await EnterAsync().ConfigureAwait(false);
        var etag = await _batcher.EnqueueAsync(GrainWrite.Clear(stateName, grainId.ToString(), grainState.ETag)).ConfigureAwait(false);
        grainState.ETag = etag;
        grainState.RecordExists = false;
        grainState.State = _activators.GetActivator<T>().Create();
    }

    /// <summary>Opens at <see cref="ServiceLifecycleStage.ApplicationServices"/>; on stop, completes the accepted writes and closes.</summary>
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(
            $"{GetType().Name}-{_name}",
            ServiceLifecycleStage.ApplicationServices,
            cancellationToken => InitializeAsync(cancellationToken),
            async _ => await DisposeAsync().ConfigureAwait(false));
    }

    /// <summary>Completes every accepted write, then releases what the provider holds. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _batcher.DisposeAsync().ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Opens connections, threads and statements, after the schema is current.</summary>
    /// <summary>
    /// Runs one query against the state table, for health checks: completes when the database answers, throws when it
    /// cannot be reached or the table is missing.
    /// </summary>
    public Task ProbeAsync(CancellationToken cancellationToken) => ProbeCoreAsync(cancellationToken);

    private protected abstract Task ProbeCoreAsync(CancellationToken cancellationToken);

    private protected abstract Task OpenAsync();

    /// <summary>The stored row: its payload (<see langword="null"/> once cleared) and version; <see langword="null"/> when there is none.</summary>
    private protected abstract Task<(byte[]? Payload, long Version)?> ReadCoreAsync(string stateName, string grainId);

    /// <summary>Runs one batch atomically and records each operation's outcome (<see cref="GrainWrite.Succeeded"/>, <see cref="GrainWrite.Conflicted"/>).</summary>
    private protected abstract Task ExecuteBatchAsync(IReadOnlyList<GrainWrite> batch, CancellationToken cancellationToken);

    /// <summary>Releases the provider's connections once every accepted write has completed.</summary>
    private protected abstract ValueTask CloseAsync();

    private Task EnterAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _initialized ? Task.CompletedTask : InitializeAsync();
    }
}
