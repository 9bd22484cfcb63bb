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
        const string Common = "vehicles=<n>, connect-parallelism=<n>, settle=10s";
        catalog.Add(TelemetryScenario.ScenarioName, "status reports over Connect streams, report->ack; " + Common, () => new TelemetryScenario());
        catalog.Add(
            CommandsScenario.ScenarioName,
            "command round trips to simulated vehicles, send->result; command-delay=fixed:1ms, fail-rate=0, command-timeout=10s, " + Common,
            () => new CommandsScenario());
        catalog.Add(WatchScenario.ScenarioName, "reports seen by watching operators, report->watcher; watch=vehicle|fleet, watched=<n>, min-interval=100ms, " + Common, () => new WatchScenario());
        catalog.Add(MixedScenario.ScenarioName, "reports, commands and watched reports blended; command-share=0.02, watch-share=0.05, watched=100, " + Common, () => new MixedScenario());
        catalog.Add(SoakScenario.ScenarioName, "the mixed blend for long steady runs, with the generator's memory as a gauge; options as mixed", () => new SoakScenario());
        catalog.Add(ReconnectStormScenario.ScenarioName, "every vehicle drops and reconnects at once, time to all reconnected (run with -c 1); " + Common, () => new ReconnectStormScenario());
        catalog.Add(EchoScenario.ScenarioName, "raw gRPC baseline: TestService.Duplex echoes; streams=<n> (default vehicles), payload-bytes=<n>", () => new EchoScenario());
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
