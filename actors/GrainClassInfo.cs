using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Vehicles.Persistence;

namespace Vehicles.Actors;

/// <summary>A grain class as the runtime sees it: its type name, interleaving policy and a compiled constructor.</summary>
internal sealed class GrainClassInfo
{
    private readonly ObjectFactory _factory;
    private readonly StateParameter[] _states;

    public GrainClassInfo(Type classType, IServiceProvider services)
    {
        ClassType = classType;
        GrainType = GetGrainTypeName(classType);
        IsReentrant = classType.GetCustomAttribute<ReentrantAttribute>(inherit: true) is not null;

        var constructor = SelectConstructor(classType);
        var states = new List<StateParameter>();
        foreach (var parameter in constructor.GetParameters())
        {
            var attribute = parameter.GetCustomAttribute<PersistentStateAttribute>();
            if (attribute is null)
            {
                continue;
            }

            var type = parameter.ParameterType;
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(IPersistentState<>))
            {
                throw new InvalidOperationException($"Parameter '{parameter.Name}' of {classType} carries [PersistentState] but is not an IPersistentState<T>.");
            }

            var storage = services.GetKeyedService<IGrainStorage>(attribute.StorageName) ?? services.GetService<IGrainStorage>();
            var create = typeof(GrainClassInfo)
                .GetMethod(nameof(CreateState), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(type.GetGenericArguments()[0])
                .CreateDelegate<Func<IGrainStorage?, string, IGrainStateSerializer, Activation, IPersistentStateLoader>>();
            states.Add(new StateParameter(type, GrainType + "/" + attribute.StateName, attribute.StorageName, storage, create));
        }

        _states = [.. states];

        // Compiled once per grain class; the persistent states are the explicit arguments, DI supplies the rest.
        _factory = ActivatorUtilities.CreateFactory(classType, [.. states.Select(s => s.ParameterType)]);
    }

    public Type ClassType { get; }

    public string GrainType { get; }

    public bool IsReentrant { get; }

    public Grain Create(Activation activation, IServiceProvider services, IGrainStateSerializer serializer, out IPersistentStateLoader[] states)
    {
        var created = _states.Length == 0 ? [] : new IPersistentStateLoader[_states.Length];
        for (var i = 0; i < _states.Length; i++)
        {
            var s = _states[i];
            if (s.Storage is null)
            {
                throw new InvalidOperationException($"No IGrainStorage is registered for storage provider '{s.StorageName}' (keyed or unkeyed) needed by {ClassType}.");
            }

            created[i] = s.Create(s.Storage, s.StorageType, serializer, activation);
        }

        states = created;
        var args = created.Length == 0 ? [] : created.Cast<object>().ToArray();
        return Grain.Construct(activation, () => (Grain)_factory(services, args));
    }

    public static string GetGrainTypeName(Type classType)
    {
        var attribute = classType.GetCustomAttribute<GrainTypeAttribute>(inherit: false);
        if (attribute is not null)
        {
            return attribute.Name;
        }

        var name = classType.Name;
        if (name.EndsWith("Grain", StringComparison.Ordinal) && name.Length > "Grain".Length)
        {
            name = name[..^"Grain".Length];
        }

#pragma warning disable CA1308 // Orleans' convention: grain type names are lower case.
        return name.ToLowerInvariant();
#pragma warning restore CA1308
    }

    private static ConstructorInfo SelectConstructor(Type classType)
    {
        var constructors = classType.GetConstructors();
        if (constructors.Length == 0)
        {
            throw new InvalidOperationException($"Grain class {classType} has no public constructor.");
        }

        return constructors.FirstOrDefault(c => c.IsDefined(typeof(ActivatorUtilitiesConstructorAttribute)))
            ?? constructors.OrderByDescending(c => c.GetParameters().Length).First();
    }

    private static PersistentState<TState> CreateState<TState>(IGrainStorage? storage, string storageType, IGrainStateSerializer serializer, Activation activation)
        => new PersistentState<TState>(storage!, storageType, activation, serializer);

    private sealed record StateParameter(
        Type ParameterType,
        string StorageType,
        string StorageName,
        IGrainStorage? Storage,
        Func<IGrainStorage?, string, IGrainStateSerializer, Activation, IPersistentStateLoader> Create);
}
