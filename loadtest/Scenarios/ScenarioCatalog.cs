namespace Vehicles.LoadTest;

/// <summary>The scenarios the command line can run, by name. Real scenarios register here next to <c>selftest</c>.</summary>
public sealed class ScenarioCatalog
{
    private readonly Dictionary<string, (string Description, Func<IScenario> Factory)> _entries =
        new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The catalog with the built-in scenarios.</summary>
    public static ScenarioCatalog CreateDefault()
    {
        var catalog = new ScenarioCatalog();
        catalog.Add(
            SelfTestScenario.ScenarioName,
            "synthetic step, no server; options: latency=exp:2ms|fixed:1ms|uniform:1ms-5ms|bimodal:1ms,20ms,0.1|none, "
                + "errors=<fraction>, error-status=<name>, discrepancies=<count>",
            () => new SelfTestScenario());
        return catalog;
    }

    /// <summary>The registered scenarios' names and descriptions, sorted by name.</summary>
    public IEnumerable<(string Name, string Description)> Entries =>
        _entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, e.Value.Description));

    /// <summary>Registers a scenario.</summary>
    /// <exception cref="ArgumentException">A scenario of that name exists.</exception>
    public void Add(string name, string description, Func<IScenario> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(factory);
        if (!_entries.TryAdd(name, (description, factory)))
        {
            throw new ArgumentException($"Scenario '{name}' is already registered.", nameof(name));
        }
    }

    /// <summary>Creates the named scenario, or returns <see langword="false"/> when there is none.</summary>
    public bool TryCreate(string name, out IScenario? scenario)
    {
        if (_entries.TryGetValue(name, out var entry))
        {
            scenario = entry.Factory();
            return true;
        }

        scenario = null;
        return false;
    }
}
