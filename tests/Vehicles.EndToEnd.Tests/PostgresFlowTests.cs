using Npgsql;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

/// <summary>The main flow on PostgreSQL (VEHICLES_TEST_POSTGRES), in a schema of its own, across a silo restart.</summary>
public sealed class PostgresFlowTests : SiloTestBase
{
    private readonly string _schema = "e2e_" + Guid.NewGuid().ToString("N")[..12];

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = Environment.GetEnvironmentVariable("VEHICLES_TEST_POSTGRES") is { Length: > 0 } connection
            ? connection
            : throw new InvalidOperationException("VEHICLES_TEST_POSTGRES is not set: run scripts/test.sh, which starts PostgreSQL and sets it."),
        ["Storage:Schema"] = _schema,
    };

    protected override async Task OnSiloDisposedAsync()
    {
        await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable("VEHICLES_TEST_POSTGRES"));
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task ReportAndCommand_OnPostgres_SurviveRestart()
    {
        var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await vehicle.ReportAsync(Signal.Position(52.5, 13.4));
        await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Ack);
        var send = Operator.SendCommandAsync(new SendCommandRequest { Vin = Vin(1), Name = "flash_lights", WaitForResult = true }, TimeSpan.FromSeconds(20));
        var delivery = await vehicle.ReadUntilAsync(ServerMessage.KindOneofCase.Command);
        await vehicle.CompleteAsync(delivery.Command.CommandId, CommandOutcome.Succeeded);
        var result = await send;
        await vehicle.HangUpAsync();
        await vehicle.DisposeAsync();

        await Silo.RestartAsync();
        var afterRestart = Silo.Operator(Silo.OperatorToken(Fleet));
        var state = await afterRestart.GetVehicleAsync(Vin(1));
        var command = await afterRestart.GetCommandAsync(Vin(1), delivery.Command.CommandId);

        Assert.Equal(CommandState.Succeeded, result.Command.State);
        Assert.Equal(52.5, state.Signals.Latitude);
        Assert.Equal(ConnectionState.Offline, state.ConnectionState);
        Assert.Equal(1ul, state.DurableSequence);
        Assert.Equal(CommandState.Succeeded, command.State);
    }
}
