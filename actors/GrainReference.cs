using System.ComponentModel;

namespace Vehicles.Actors;

/// <summary>
/// Base of generated grain proxies. A reference is a grain id plus the runtime that routes its calls; it remembers the
/// activation it last reached so that repeated calls skip the directory lookup.
/// </summary>
public abstract class GrainReference : IEquatable<GrainReference>
{
    private readonly GrainReferenceContext _context;

    /// <summary>Creates the reference (called by generated code).</summary>
    protected GrainReference(GrainReferenceContext context, string key)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(key);
        _context = context;
        Key = key;
    }

    /// <summary>The grain key.</summary>
    public string Key { get; }

    /// <summary>The grain's id.</summary>
    public GrainId GrainId => new(_context.GrainClass.GrainType, Key);

    internal GrainReferenceContext Context => _context;

    internal Activation? CachedActivation { get; set; }

    /// <summary>Sends a call that returns a value.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected ValueTask<TResult> InvokeAsync<TResult>(GrainRequest<TResult> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var version = request.Version;
        _context.Runtime.Send(this, request);
        return new ValueTask<TResult>(request, version);
    }

    /// <summary>Sends a call that returns no value.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected ValueTask InvokeAsync(GrainVoidRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var version = request.Version;
        _context.Runtime.Send(this, request);
        return new ValueTask(request, version);
    }

    /// <inheritdoc />
    public bool Equals(GrainReference? other)
        => other is not null && ReferenceEquals(_context.GrainClass, other._context.GrainClass) && string.Equals(Key, other.Key, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as GrainReference);

    /// <inheritdoc />
    public override int GetHashCode() => GrainId.GetHashCode();

    /// <inheritdoc />
    public override string ToString() => GrainId.ToString();
}

/// <summary>What generated proxies share per (runtime, interface): the runtime and the grain class behind the interface.</summary>
public sealed class GrainReferenceContext
{
    internal GrainReferenceContext(ActorRuntime runtime, GrainClassInfo grainClass, GrainInterfaceDescriptor grainInterface)
    {
        Runtime = runtime;
        GrainClass = grainClass;
        Interface = grainInterface;
    }

    internal ActorRuntime Runtime { get; }

    internal GrainClassInfo GrainClass { get; }

    internal GrainInterfaceDescriptor Interface { get; }
}

/// <summary>What the source generator registers for a grain interface: a proxy factory and request factories by method id.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class GrainInterfaceDescriptor(
    Type interfaceType,
    Func<GrainReferenceContext, string, GrainReference> proxyFactory,
    Func<int, GrainRequest?> requestFactory,
    GrainMethodDescriptor[] methods)
{
    /// <summary>The grain interface.</summary>
    public Type InterfaceType { get; } = interfaceType;

    /// <summary>Creates an empty request for a method id (dispatch of a remote call without reflection); <see langword="null"/> for an unknown id.</summary>
    public Func<int, GrainRequest?> CreateRequest { get; } = requestFactory;

    /// <summary>The methods, indexed by method id.</summary>
    public IReadOnlyList<GrainMethodDescriptor> Methods { get; } = methods;

    internal Func<GrainReferenceContext, string, GrainReference> CreateProxy { get; } = proxyFactory;
}

/// <summary>
/// The process-wide catalog the generated module initializers fill: grain interfaces (proxy and request factories) and
/// grain classes.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class GrainTypeRegistry
{
    private static readonly Lock _gate = new();
    private static readonly Dictionary<Type, GrainInterfaceDescriptor> _interfaces = [];
    private static readonly Dictionary<string, GrainInterfaceDescriptor> _interfacesByName = new(StringComparer.Ordinal);
    private static readonly HashSet<Type> _classes = [];

    /// <summary>Registers a grain interface (called by generated code).</summary>
    public static void RegisterInterface(GrainInterfaceDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        lock (_gate)
        {
            _interfaces[descriptor.InterfaceType] = descriptor;
            _interfacesByName[descriptor.InterfaceType.FullName ?? descriptor.InterfaceType.Name] = descriptor;
        }
    }

    /// <summary>Registers a grain class (called by generated code).</summary>
    public static void RegisterGrainClass(Type grainClass)
    {
        ArgumentNullException.ThrowIfNull(grainClass);
        lock (_gate)
        {
            _classes.Add(grainClass);
        }
    }

    /// <summary>Finds the descriptor of a grain interface, running the module initializer of its assembly if needed.</summary>
    public static GrainInterfaceDescriptor? FindInterface(Type interfaceType)
    {
        ArgumentNullException.ThrowIfNull(interfaceType);
        lock (_gate)
        {
            if (_interfaces.TryGetValue(interfaceType, out var found))
            {
                return found;
            }
        }

        // Touching a type does not run its module's initializer; ask for it explicitly (once per module, cold path).
        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(interfaceType.Module.ModuleHandle);
        lock (_gate)
        {
            return _interfaces.GetValueOrDefault(interfaceType);
        }
    }

    /// <summary>Finds the descriptor of a grain interface by its full name (the name a remote message carries).</summary>
    public static GrainInterfaceDescriptor? FindInterface(string fullName)
    {
        lock (_gate)
        {
            return _interfacesByName.GetValueOrDefault(fullName);
        }
    }

    /// <summary>
    /// Runs the generated registrations of every loaded assembly, and of those the entry assembly references, that use
    /// the runtime: a grain class in an assembly no code has touched yet is otherwise unknown (cold path, once).
    /// </summary>
    internal static void DiscoverLoadedAssemblies()
    {
        var runtimeName = typeof(GrainTypeRegistry).Assembly.GetName().Name;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<System.Reflection.Assembly>(AppDomain.CurrentDomain.GetAssemblies());
        if (System.Reflection.Assembly.GetEntryAssembly() is { } entry)
        {
            pending.Push(entry);
        }

        while (pending.Count > 0 && seen.Count < 10_000)
        {
            var assembly = pending.Pop();
            if (assembly.IsDynamic || !seen.Add(assembly.FullName ?? string.Empty))
            {
                continue;
            }

            var references = assembly.GetReferencedAssemblies();
            if (!references.Any(r => r.Name == runtimeName))
            {
                continue;
            }

            System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
            foreach (var reference in references)
            {
                if (!seen.Contains(reference.FullName))
                {
                    try
                    {
                        pending.Push(System.Reflection.Assembly.Load(reference));
                    }
                    catch (Exception ex) when (ex is IOException or BadImageFormatException)
                    {
                        // A reference that is not deployed (or not loadable) cannot hold grains we need.
                    }
                }
            }
        }
    }

    internal static Type[] GetGrainClasses()
    {
        lock (_gate)
        {
            return [.. _classes];
        }
    }
}
