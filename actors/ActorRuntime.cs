using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vehicles.Persistence;

namespace Vehicles.Actors;

/// <summary>
/// The in-process actor runtime (a silo): the grain directory, call routing, idle collection, call timeouts and
/// reminders. Registered by <see cref="ActorsServiceCollectionExtensions.AddActors(IServiceCollection, Action{ActorsOptions}?)"/>
/// as <see cref="IGrainFactory"/> and as a hosted service.
/// </summary>
/// <remarks>
/// Graceful shutdown: <see cref="StopAsync"/> stops reminders and timers, rejects new calls, and deactivates every
/// activation (waiting for its running message, then running <see cref="Grain.OnDeactivateAsync"/>, where grains write
/// unsaved state). Messages still queued at that point fail with <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class ActorRuntime : IGrainFactory, IHostedService, IAsyncDisposable
{
    private const int MaxRouteAttempts = 100;

    private readonly ConcurrentDictionary<GrainId, Activation> _directory = new();
    private readonly ConcurrentDictionary<Type, GrainReferenceContext> _references = new();
    private readonly Dictionary<string, GrainClassInfo> _classesByType = new(StringComparer.Ordinal);
    private readonly List<GrainClassInfo> _classes = [];
    private readonly Lock _classesGate = new();
    private readonly IPlacementDirector _placement;
    private readonly bool _allLocal;
    private readonly IGrainCallTransport? _transport;
    private readonly long _callTimeoutMs;
    private readonly long _collectionAgeMs;
    private readonly long _maintenancePeriodMs;
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _maintenanceTimer;
    private long _coarseNow;
    private long _activationCount;
    private volatile bool _isStopping;

    internal ActorRuntime(IServiceProvider services, IEnumerable<Type> grainClasses)
    {
        Services = services;
        Options = services.GetService<IOptions<ActorsOptions>>()?.Value ?? new ActorsOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MailboxCapacity, 1, "Actors:MailboxCapacity");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.CallTimeout, TimeSpan.Zero, "Actors:CallTimeout");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.CollectionAge, TimeSpan.Zero, "Actors:CollectionAge");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.MaintenancePeriod, TimeSpan.Zero, "Actors:MaintenancePeriod");
        TimeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
        StateSerializer = services.GetService<IGrainStateSerializer>() ?? new GrainStateSerializer();
        Logger = services.GetService<ILogger<ActorRuntime>>() ?? NullLogger<ActorRuntime>.Instance;
        _placement = services.GetService<IPlacementDirector>() ?? new LocalPlacementDirector();
        _allLocal = _placement is LocalPlacementDirector;
        _transport = services.GetService<IGrainCallTransport>();
        ActivationGate = services.GetService<IGrainActivationGate>();
        MailboxCapacity = Options.MailboxCapacity;
        Stopping = _stopping.Token;
        _callTimeoutMs = (long)Options.CallTimeout.TotalMilliseconds;
        _collectionAgeMs = (long)Options.CollectionAge.TotalMilliseconds;
        _maintenancePeriodMs = Math.Max(1, (long)Options.MaintenancePeriod.TotalMilliseconds);
        _coarseNow = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        Metrics = new ActorsMetrics(services.GetService<IMeterFactory>(), () => Interlocked.Read(ref _activationCount));
        Reminders = new ReminderService(this, services.GetService<IReminderTable>());

        foreach (var type in grainClasses.Concat(GrainTypeRegistry.GetGrainClasses()).Distinct())
        {
            AddGrainClass(type);
        }
    }

    /// <summary>The options in effect.</summary>
    public ActorsOptions Options { get; }

    /// <summary>Activations currently resident (including ones activating or deactivating).</summary>
    public int ActivationCount => _directory.Count;

    internal IServiceProvider Services { get; }

    internal IGrainActivationGate? ActivationGate { get; }

    internal TimeProvider TimeProvider { get; }

    internal IGrainStateSerializer StateSerializer { get; }

    internal ILogger Logger { get; }

    internal ActorsMetrics Metrics { get; }

    internal ReminderService Reminders { get; }

    internal int MailboxCapacity { get; }

    /// <summary>Cancelled when the runtime starts stopping.</summary>
    internal CancellationToken Stopping { get; }

    /// <summary>Unix milliseconds, refreshed every maintenance period: cheap enough to stamp every call.</summary>
    internal long CoarseNow => Volatile.Read(ref _coarseNow);

    /// <inheritdoc />
    public TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!_references.TryGetValue(typeof(TGrainInterface), out var context))
        {
            context = _references.GetOrAdd(typeof(TGrainInterface), CreateReferenceContext);
        }

        return (TGrainInterface)(object)context.Interface.CreateProxy(context, key);
    }

    /// <summary>Loads and arms reminders and starts the maintenance timer (call timeouts, idle collection).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _maintenanceTimer = TimeProvider.CreateTimer(static s => ((ActorRuntime)s!).RunMaintenance(), this, Options.MaintenancePeriod, Options.MaintenancePeriod);
        await Reminders.StartAsync(cancellationToken);
        if (Logger.IsEnabled(LogLevel.Information))
        {
            Logger.LogInformation("Actor runtime started with {GrainClassCount} grain classes", _classes.Count);
        }
    }

    /// <summary>Deactivates every activation (running <see cref="Grain.OnDeactivateAsync"/>) and stops timers and reminders.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _isStopping = true;
        await _stopping.CancelAsync();
        Reminders.Stop();
        if (_maintenanceTimer is not null)
        {
            await _maintenanceTimer.DisposeAsync();
        }

        var reason = new DeactivationReason(DeactivationReasonCode.ShuttingDown, "The actor runtime is shutting down.");
        var pending = new List<Task>();
        foreach (var activation in _directory.Values)
        {
            activation.RequestDeactivation(reason, onlyIfIdle: false);
            pending.Add(activation.WhenDeactivated());
        }

        if (Logger.IsEnabled(LogLevel.Information))
        {
            Logger.LogInformation("Deactivating {ActivationCount} activations", pending.Count);
        }
        await Task.WhenAll(pending).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_isStopping)
        {
            await StopAsync(CancellationToken.None);
        }

        Metrics.Dispose();
    }

    /// <summary>
    /// Runs a request that arrived from another silo on the local activation of <paramref name="grainId"/>; await its
    /// answer with <see cref="GrainRequest.GetResultAsync"/>.
    /// </summary>
    public void DispatchLocal(GrainId grainId, GrainRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var grainClass = FindGrainClass(grainId.Type);
        if (grainClass is null)
        {
            request.TrySetException(new InvalidOperationException($"This silo hosts no grain type '{grainId.Type}'."));
            return;
        }

        request.SentAt = CoarseNow;
        Route(grainClass, grainId.Key, request, activation: null);
    }

    /// <summary>
    /// Applies a placement change: deactivates every activation this silo no longer owns (each writes its state in
    /// <see cref="Grain.OnDeactivateAsync"/>, reason <see cref="DeactivationReasonCode.PlacementChanged"/>; messages
    /// queued behind it go to the new owner) and re-arms reminders so that each fires on its owner only. Call it after
    /// the <see cref="IPlacementDirector"/> changed its answers; completes when the handed-over activations are gone.
    /// </summary>
    /// <returns>How many activations were handed over.</returns>
    public async Task<int> RebalanceAsync(CancellationToken cancellationToken = default)
    {
        if (_isStopping)
        {
            return 0;
        }

        var reason = new DeactivationReason(DeactivationReasonCode.PlacementChanged, "Another silo owns the grain after a membership change.");
        var pending = new List<Task>();
        foreach (var (id, activation) in _directory)
        {
            if (!_placement.IsLocal(id))
            {
                pending.Add(HandOver(activation, reason));
            }
        }

        await Reminders.ReloadAsync(cancellationToken);
        await Task.WhenAll(pending).WaitAsync(cancellationToken);
        if (pending.Count > 0 && Logger.IsEnabled(LogLevel.Information))
        {
            Logger.LogInformation("Handed over {ActivationCount} activations after a placement change", pending.Count);
        }

        return pending.Count;
    }

    /// <summary>
    /// Completes when this silo holds no activation of the grain that is deactivating: a transport waits for it before
    /// sending a call for a grain just handed over, so that the new owner reads the state the old activation wrote.
    /// </summary>
    public Task WhenHandedOver(GrainId grainId)
        => _directory.TryGetValue(grainId, out var activation) && activation.IsHandingOver ? activation.WhenDeactivated() : Task.CompletedTask;

    /// <summary>
    /// Deactivates this silo's activation of the grain, if any, as after a placement change (it writes its state), and
    /// completes once it is gone. Messages queued behind it follow placement.
    /// </summary>
    public Task HandOverAsync(GrainId grainId)
    {
        if (!_directory.TryGetValue(grainId, out var activation))
        {
            return Task.CompletedTask;
        }

        return HandOver(activation, new DeactivationReason(DeactivationReasonCode.PlacementChanged, "The grain's new owner asked for it."));
    }

    private static Task HandOver(Activation activation, DeactivationReason reason)
    {
        activation.RequestDeactivation(reason, onlyIfIdle: false);
        return activation.WhenDeactivated();
    }

    /// <summary>Whether the grain has an activation that is not about to deactivate.</summary>
    internal bool IsStayingActive(GrainId grainId) => _directory.TryGetValue(grainId, out var activation) && activation.IsStayingActive;

    internal bool IsLocal(GrainId grainId) => _allLocal || _placement.IsLocal(grainId);

    internal GrainClassInfo? FindGrainClass(string grainType)
    {
        lock (_classesGate)
        {
            return _classesByType.GetValueOrDefault(grainType);
        }
    }

    /// <summary>The hot path of every call made through a reference.</summary>
    internal void Send(GrainReference reference, GrainRequest request)
    {
        var grainClass = reference.Context.GrainClass;
        if (!_allLocal && !_placement.IsLocal(new GrainId(grainClass.GrainType, reference.Key)))
        {
            SendRemote(new GrainId(grainClass.GrainType, reference.Key), request);
            return;
        }

        request.SentAt = CoarseNow;
        if (Metrics.CallDurationEnabled)
        {
            request.SentTimestamp = Stopwatch.GetTimestamp();
        }

        Metrics.CountCall();
        var activation = Route(grainClass, reference.Key, request, reference.CachedActivation);
        if (activation is not null)
        {
            reference.CachedActivation = activation;
        }
    }

    /// <summary>Sends a runtime message (a reminder tick): bypasses the mailbox capacity and activates the grain if needed.</summary>
    internal ValueTask SendSystemAsync(GrainClassInfo grainClass, string key, GrainVoidRequest request)
    {
        request.IsSystem = true;
        request.SentAt = CoarseNow;
        var version = request.Version;
        Route(grainClass, key, request, activation: null);
        return new ValueTask(request, version);
    }

    /// <summary>Hands a message that never started on a deactivated activation to the grain's next activation.</summary>
    internal void Forward(GrainClassInfo grainClass, string key, GrainRequest request)
    {
        var grainId = new GrainId(grainClass.GrainType, key);
        if (!IsLocal(grainId))
        {
            // Handed over after a placement change: the message follows the grain to its new owner.
            SendRemote(grainId, request);
            return;
        }

        request.IsSystem = true;
        Route(grainClass, key, request, activation: null);
    }

    internal void RemoveActivation(Activation activation)
        => _directory.TryRemove(new KeyValuePair<GrainId, Activation>(activation.GrainId, activation));

    internal void OnActivated() => Interlocked.Increment(ref _activationCount);

    internal void OnDeactivated() => Interlocked.Decrement(ref _activationCount);

    private Activation? Route(GrainClassInfo grainClass, string key, GrainRequest request, Activation? activation)
    {
        if (_isStopping)
        {
            request.TrySetException(new InvalidOperationException("The actor runtime is shutting down; the call was not delivered."));
            return null;
        }

        for (var attempt = 0; attempt < MaxRouteAttempts; attempt++)
        {
            activation ??= GetOrCreateActivation(grainClass, key);
            switch (activation.Enqueue(request))
            {
                case EnqueueResult.Accepted:
                    return activation;
                case EnqueueResult.Full:
                    request.TrySetException(new MailboxFullException(activation.GrainId, MailboxCapacity));
                    return activation;
                default:
                    // Deactivated since it was looked up: the directory no longer holds it.
                    activation = null;
                    break;
            }
        }

        request.TrySetException(new InvalidOperationException($"Could not deliver a call to grain {grainClass.GrainType}/{key}: its activations kept deactivating."));
        return null;
    }

    private Activation GetOrCreateActivation(GrainClassInfo grainClass, string key)
    {
        var id = new GrainId(grainClass.GrainType, key);
        if (_directory.TryGetValue(id, out var existing))
        {
            return existing;
        }

        // A racing loser's Activation is dropped before it ever runs: grain construction happens on its first turn.
        return _directory.GetOrAdd(id, static (id, state) => new Activation(state.Runtime, state.Class, id), (Runtime: this, Class: grainClass));
    }

    private void SendRemote(GrainId grainId, GrainRequest request)
    {
        if (_transport is null)
        {
            request.TrySetException(new InvalidOperationException($"Grain {grainId} is placed on another silo but no IGrainCallTransport is registered."));
            return;
        }

        _transport.Send(grainId, request);
    }

    private void RunMaintenance()
    {
        var now = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        Volatile.Write(ref _coarseNow, now);

        // Calls are stamped with the coarse clock, which lags by up to one period: allowing one extra period means a
        // call never times out early.
        var expiredBefore = now - _callTimeoutMs - _maintenancePeriodMs;
        var idleSince = _collectionAgeMs + _maintenancePeriodMs;
        List<GrainRequest>? expired = null;
        var idleReason = new DeactivationReason(DeactivationReasonCode.IdleTimeout, "The activation was idle longer than the collection age.");
        foreach (var (_, activation) in _directory)
        {
            if (activation.InFlight > 0)
            {
                activation.CollectExpired(expiredBefore, expired ??= []);
            }
            else if (now - activation.LastUsed >= idleSince && activation.IsIdle(now, idleSince))
            {
                activation.RequestDeactivation(idleReason, onlyIfIdle: true);
            }
        }

        if (expired is null)
        {
            return;
        }

        foreach (var request in expired)
        {
            request.TrySetException(new TimeoutException(
                $"Call to {request.Method} on grain {request.Target?.GrainId} timed out after {Options.CallTimeout}."));
        }
    }

    private GrainReferenceContext CreateReferenceContext(Type interfaceType)
    {
        var descriptor = GrainTypeRegistry.FindInterface(interfaceType)
            ?? throw new InvalidOperationException(
                $"No generated proxy for grain interface {interfaceType}. Reference codegen/Vehicles.CodeGen.csproj as an analyzer " +
                "(OutputItemType=\"Analyzer\" ReferenceOutputAssembly=\"false\") from the project that declares it.");

        var candidates = FindImplementations(interfaceType);
        if (candidates.Length == 0)
        {
            GrainTypeRegistry.DiscoverLoadedAssemblies();
            candidates = FindImplementations(interfaceType);
        }

        return candidates.Length switch
        {
            1 => new GrainReferenceContext(this, candidates[0], descriptor),
            0 => throw new InvalidOperationException($"No grain class implements {interfaceType}. Register one with AddActors().AddGrain<T>() or declare it in a project that uses Vehicles.CodeGen."),
            _ => throw new InvalidOperationException($"Several grain classes implement {interfaceType} ({string.Join(", ", candidates.Select(c => c.ClassType.Name))}); keep one per interface."),
        };
    }

    private GrainClassInfo[] FindImplementations(Type interfaceType)
    {
        lock (_classesGate)
        {
            foreach (var type in GrainTypeRegistry.GetGrainClasses())
            {
                AddGrainClassLocked(type);
            }

            return [.. _classes.Where(c => interfaceType.IsAssignableFrom(c.ClassType))];
        }
    }

    private void AddGrainClass(Type type)
    {
        lock (_classesGate)
        {
            AddGrainClassLocked(type);
        }
    }

    private void AddGrainClassLocked(Type type)
    {
        if (_classes.Any(c => c.ClassType == type))
        {
            return;
        }

        if (!typeof(Grain).IsAssignableFrom(type) || type.IsAbstract)
        {
            throw new InvalidOperationException($"{type} is not a concrete grain class (it must derive from Vehicles.Actors.Grain).");
        }

        var info = new GrainClassInfo(type, Services);
        if (_classesByType.TryGetValue(info.GrainType, out var clash))
        {
            throw new InvalidOperationException($"Grain classes {clash.ClassType} and {type} share the grain type name '{info.GrainType}'; set [GrainType] on one.");
        }

        _classes.Add(info);
        _classesByType.Add(info.GrainType, info);
    }
}
