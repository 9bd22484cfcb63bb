using Npgsql;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

/// <summary>The vehicle grain over real PostgreSQL storage (VEHICLES_TEST_POSTGRES), in a schema of its own.</summary>
public sealed class PostgresVehicleGrainTests : IAsyncLifetime
{
    private readonly string _schema = "grains_test_" + Guid.NewGuid().ToString("N");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await using var dataSource = NpgsqlDataSource.Create(TestServers.PostgresConnectionString);
        await using var command = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE");
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task StateAndCommands_AfterRestart_SurviveInPostgres()
    {
        using var settings = HostSettings.Postgres(_schema);
        var t0 = settings.Time.GetUtcNow();
        string commandId;
        await using (var host = await GrainsHost.StartAsync(settings))
        {
            var vehicle = host.Vehicle(Build.Vin);
            await vehicle.ReportAsync(Build.Report(1, t0, s => s.StateOfCharge = 64), Build.Fleet);
            commandId = (await vehicle.SendCommandAsync(Build.Command("start_charging", key: "pg"))).Command!.CommandId;
            await vehicle.ReportAsync(Build.Report(2, t0, s => s.Speed = 3), null);
            host.Time.Advance(TimeSpan.FromSeconds(1));
            await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.DurableSequence == 2, "checkpoint written");
        }

        await using var restarted = await GrainsHost.StartAsync(settings);
        var again = restarted.Vehicle(Build.Vin);
        var state = await again.GetAsync();
        var grant = await again.OpenSessionAsync(Build.Session("s1"));
        var retry = await again.SendCommandAsync(Build.Command("start_charging", key: "pg"));

        Assert.Equal(64, state!.Signals.StateOfCharge);
        Assert.Equal(3, state.Signals.Speed);
        Assert.Equal(2UL, grant.DurableSequence);
        Assert.Equal([commandId], grant.Commands.Select(c => c.CommandId));
        Assert.Equal(SendCommandStatus.Deduplicated, retry.Status);
        Assert.Equal(CommandState.Delivered, retry.Command!.State);
    }
}
