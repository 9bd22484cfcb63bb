using Npgsql;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

/// <summary>The vehicle grain over real PostgreSQL storage and reminders (VEHICLES_TEST_POSTGRES), in a schema of its own.</summary>
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
    public async Task StateAndCommands_AfterSiloRestart_SurviveInPostgres()
    {
        using var settings = ClusterSettings.Postgres(_schema);
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var t0 = host.Time.GetUtcNow();
        await vehicle.ReportAsync(Build.Report(1, t0, s => s.StateOfCharge = 64), Build.Fleet);
        var commandId = (await vehicle.SendCommandAsync(Build.Command("start_charging", key: "pg"))).Command!.CommandId;
        await vehicle.ReportAsync(Build.Report(2, t0, s => s.Speed = 3), null);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await vehicle.GetAsync())!.DurableSequence == 2, "checkpoint written");

        await host.RestartSiloAsync();
        var state = await vehicle.GetAsync();
        var (session, grant) = await host.ConnectAsync(Build.Vin, "s1");
        var retry = await vehicle.SendCommandAsync(Build.Command("start_charging", key: "pg"));

        Assert.Equal(64, state!.Signals.StateOfCharge);
        Assert.Equal(3, state.Signals.Speed);
        Assert.Equal(2UL, grant.DurableSequence);
        Assert.Equal([commandId], grant.Commands.Select(c => c.CommandId));
        Assert.Equal(SendCommandStatus.Deduplicated, retry.Status);
        Assert.Equal(CommandState.Delivered, retry.Command!.State);
        GC.KeepAlive(session);
    }

    [Fact]
    public async Task ScheduledCommand_RegistersItsReminderInPostgres_AndRemovesItWhenDelivered()
    {
        using var settings = ClusterSettings.Postgres(_schema);
        settings.ConfigureGrains = o => o.HeartbeatTimeout = TimeSpan.FromHours(1);
        await using var host = await VehicleCluster.StartAsync(settings);
        var vehicle = host.Vehicle(Build.Vin);
        var (session, _) = await host.ConnectAsync(Build.Vin, "s1");

        await vehicle.SendCommandAsync(Build.Command(notBefore: host.Time.GetUtcNow().AddMinutes(10)));
        var scheduled = await host.ReadReminderAsync(vehicle, "not-before");
        host.Time.Advance(TimeSpan.FromMinutes(10));
        await session.NextPushAsync();
        await Eventually.TrueAsync(async () => await host.ReadReminderAsync(vehicle, "not-before") is null, "the reminder removed once nothing is scheduled");

        Assert.NotNull(scheduled);
        Assert.Equal(TimeSpan.FromMinutes(1), scheduled.Period);
    }
}
