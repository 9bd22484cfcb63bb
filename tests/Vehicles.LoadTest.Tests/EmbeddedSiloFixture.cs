namespace Vehicles.LoadTest.Tests;

/// <summary>One embedded silo (the production composition on 127.0.0.1, SQLite in a temp folder) for every scenario test.</summary>
public sealed class EmbeddedSiloFixture : IAsyncLifetime
{
    private EmbeddedSilo? _silo;

    public EmbeddedSilo Silo => _silo ?? throw new InvalidOperationException("The silo has not started.");

    public async Task InitializeAsync() =>
        _silo = await EmbeddedSilo.StartAsync(new Dictionary<string, string?>
        {
            // Tests drive a few vehicles hard: lift the per-vehicle report rate so no report is throttled.
            ["VehicleLink:MaxReportsPerSecond"] = "10000",
            ["VehicleLink:ReportBurst"] = "10000",
        });

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }
    }

    /// <summary>Runs one scenario against the silo under <paramref name="model"/> with the given options.</summary>
    public Task<ScenarioReport> RunAsync(IScenario scenario, LoadModel model, params (string Key, string Value)[] options) =>
        RunAsync(scenario, model, shareConnections: 1, options);

    /// <summary>Runs one scenario with <paramref name="shareConnections"/> vehicles per TCP connection.</summary>
    public async Task<ScenarioReport> RunAsync(IScenario scenario, LoadModel model, int shareConnections, params (string Key, string Value)[] options)
    {
        var settings = new RunSettings
        {
            Target = Silo.Address,
            Options = options.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal),
            Api = new ApiSettings { SigningKey = Silo.SigningKey, EchoTarget = Silo.Address, ShareConnections = shareConnections },
            Scheduler = new SchedulerOptions { DrainTimeout = TimeSpan.FromSeconds(10) },
        };
        try
        {
            var report = await new LoadRunner(settings, TimeProvider.System)
                .RunAsync([new ScenarioRun(scenario, model)], progress: null)
                .WaitAsync(TimeSpan.FromSeconds(60));
            return Assert.Single(report.Scenarios);
        }
        finally
        {
            await scenario.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddedSiloGroup : ICollectionFixture<EmbeddedSiloFixture>
{
    public const string Name = "embedded silo";
}
