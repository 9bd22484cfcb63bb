namespace Vehicles.LoadTest.Tests;

[Collection(EmbeddedSiloGroup.Name)]
public sealed class VehicleScenarioTests(EmbeddedSiloFixture fixture)
{
    private static readonly LoadModel _short = LoadModel.Rate(100, TimeSpan.FromSeconds(2));

    [Fact]
    public async Task Telemetry_AgainstEmbeddedSilo_AcksEveryReportAndLosesNoDurableOne()
    {
        var s = await fixture.RunAsync(new TelemetryScenario(), _short, ("vehicles", "10"));

        Assert.Equal(200, s.Totals.Requests);
        Assert.Equal(200, s.Totals.Ok);
        Assert.Equal(0, s.Totals.Discrepancies);
        Assert.Equal(10, s.FinalGauges["connected"]);
        Assert.Equal(10, s.FinalGauges["connections"]);
        Assert.Equal(200, s.FinalGauges["reports_sent"]);
        Assert.Equal(200, s.FinalGauges["reports_acked"]);
        Assert.Equal(0, s.FinalGauges["reports_failed"]);
        // Durability is batched, so acks may lag; what was acked durable is stored (no discrepancy), never more than sent.
        Assert.InRange(s.FinalGauges["durable_stored"], 1, 200);
    }

    [Fact]
    public async Task Telemetry_WithSharedConnections_MultiplexesVehiclesOverFewerConnections()
    {
        var s = await fixture.RunAsync(new TelemetryScenario(), LoadModel.Rate(50, TimeSpan.FromSeconds(1)), shareConnections: 4, ("vehicles", "10"));

        Assert.Equal(50, s.Totals.Ok);
        Assert.Equal(0, s.Totals.Discrepancies);
        Assert.Equal(10, s.FinalGauges["connected"]);
        Assert.Equal(3, s.FinalGauges["connections"]);
    }

    [Fact]
    public async Task Commands_AgainstEmbeddedSilo_EveryCommandEndsAsTheVehicleAnswered()
    {
        var s = await fixture.RunAsync(new CommandsScenario(), LoadModel.Rate(40, TimeSpan.FromSeconds(2)), ("vehicles", "5"), ("fail-rate", "0.3"));

        Assert.Equal(80, s.Totals.Requests);
        Assert.Equal(80, s.Totals.Ok);
        Assert.Equal(0, s.Totals.Discrepancies);
        Assert.Equal(80, s.FinalGauges["commands_accepted"]);
        Assert.Equal(80, s.FinalGauges["commands_agreed"]);
        Assert.Equal(80, s.Metrics["send_to_delivery"].Count);
        Assert.Equal(80, s.Metrics["send_to_vehicle_result"].Count);
    }

    [Fact]
    public async Task Commands_WhenVehiclesLieAboutResults_ReportsEachDisagreement()
    {
        var s = await fixture.RunAsync(new CommandsScenario(), LoadModel.Rate(10, TimeSpan.FromSeconds(1)), ("vehicles", "2"), ("lie-rate", "1"));

        Assert.Equal(10, s.Totals.Ok);
        Assert.Equal(10, s.Totals.Discrepancies);
        Assert.All(s.Discrepancies, d => Assert.Equal("command-disagreement", d.Kind));
        Assert.Equal(0, s.FinalGauges["commands_agreed"]);
    }

    [Fact]
    public async Task Watch_PerVehicle_WatcherSeesEveryAckedReport()
    {
        var s = await fixture.RunAsync(new WatchScenario(), LoadModel.Rate(50, TimeSpan.FromSeconds(2)), ("vehicles", "5"));

        Assert.Equal(100, s.Totals.Ok);
        Assert.Equal(0, s.Totals.Discrepancies);
        Assert.Equal(100, s.Metrics["report_to_ack"].Count);
        Assert.True(s.FinalGauges["watch_events"] > 0, "the watchers saw no event");
    }

    [Fact]
    public async Task Watch_Fleet_WatcherSeesEveryAckedReport()
    {
        var s = await fixture.RunAsync(new WatchScenario(), LoadModel.Rate(50, TimeSpan.FromSeconds(2)), ("vehicles", "5"), ("watch", "fleet"));

        Assert.Equal(100, s.Totals.Ok);
        Assert.Equal(0, s.Totals.Discrepancies);
    }

    [Fact]
    public async Task Mixed_BlendsReportsCommandsAndWatchedReportsWithoutDiscrepancies()
    {
        var s = await fixture.RunAsync(
            new MixedScenario(), _short, ("vehicles", "10"), ("command-share", "0.2"), ("watch-share", "0.3"), ("watched", "5"));

        Assert.Equal(200, s.Totals.Ok);
        Assert.Equal(0, s.Totals.Discrepancies);
        Assert.True(s.FinalGauges["commands_accepted"] > 0, "no command was sent");
        Assert.Equal(s.FinalGauges["commands_accepted"], s.FinalGauges["commands_agreed"]);
    }

    [Fact]
    public async Task ReconnectStorm_EveryVehicleReconnectsAndResendsWhatWasNotDurable()
    {
        var s = await fixture.RunAsync(new ReconnectStormScenario(), LoadModel.Concurrency(1, TimeSpan.FromSeconds(1)), ("vehicles", "20"));

        Assert.True(s.Totals.Ok > 0, "no storm completed");
        Assert.Equal(0, s.Totals.Failed);
        Assert.Equal(0, s.Totals.Discrepancies);
        Assert.Equal(20, s.FinalGauges["connected"]);
        Assert.Equal(s.Totals.Ok * 20, s.Metrics["reconnect_per_vehicle"].Count);
    }

    [Fact]
    public async Task Echo_AgainstEmbeddedTestService_EchoesEveryMessage()
    {
        var s = await fixture.RunAsync(new EchoScenario(), _short, ("streams", "4"));

        Assert.Equal(200, s.Totals.Ok);
        Assert.Equal(0, s.Totals.Discrepancies);
        Assert.Equal(200, s.FinalGauges["echo_received"]);
        Assert.Equal(4, s.FinalGauges["connections"]);
    }
}
