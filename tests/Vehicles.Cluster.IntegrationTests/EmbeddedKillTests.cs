using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.V1;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>
/// The embedded default (one silo, SQLite, no server) under kill -9: what was acknowledged as durable is there after a
/// restart, an accepted command is still queued, and a command scheduled for a time that passed while the silo was
/// down goes out at once when its vehicle connects to the new process.
/// </summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class EmbeddedKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ClusterHarness _harness = ClusterHarness.CreateEmbedded(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task KillNine_ThenRestart_KeepsDurableStateCommandsAndSchedules()
    {
        var silo = (await _harness.StartSilosAsync(1))[0];
        var reporter = _harness.Vin(1);
        var queued = _harness.Vin(2);
        var scheduled = _harness.Vin(3);
        var api = new ApiClient(silo.Invoker, _harness.OperatorToken());

        // Reports until one is acknowledged as durable (the checkpoint interval is 1 s).
        var vehicleApi = new ApiClient(silo.Invoker, _harness.VehicleToken(reporter));
        ulong durable = 0;
        var deadline = Stopwatch.StartNew();
        for (ulong sequence = 1; durable == 0 && deadline.Elapsed < TimeSpan.FromSeconds(20); sequence++)
        {
            var ack = await vehicleApi.ReportAsync(new ReportRequest
            {
                Vin = reporter,
                Status = new StatusReport { Sequence = sequence, CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow), Signals = new Signals { TraveledDistance = sequence } },
            });
            durable = ack.Ack.DurableSequence;
            await Task.Delay(100);
        }

        Assert.True(durable > 0, "no report was acknowledged as durable within 20 s");

        // Operators only see vehicles that have been heard from.
        foreach (var vin in new[] { queued, scheduled })
        {
            await new ApiClient(silo.Invoker, _harness.VehicleToken(vin)).ReportAsync(new ReportRequest
            {
                Vin = vin,
                Status = new StatusReport { Sequence = 1, CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow), Signals = new Signals { Speed = 1 } },
            });
        }

        var accepted = await api.SendCommandAsync(new SendCommandRequest { Vin = queued, Name = "flash_lights" });
        var notBefore = DateTime.UtcNow.AddSeconds(3);
        var later = await api.SendCommandAsync(new SendCommandRequest
        {
            Vin = scheduled,
            Name = "flash_lights",
            NotBefore = Timestamp.FromDateTime(notBefore),
            Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(10)),
        });

        silo.Kill();
        Assert.NotNull(await silo.WaitForExitAsync(TimeSpan.FromSeconds(10)));

        // The scheduled time passes while no silo runs.
        while (DateTime.UtcNow < notBefore.AddSeconds(1))
        {
            await Task.Delay(100);
        }

        var restarted = await _harness.RestartOnSameDataAsync(silo);
        var after = new ApiClient(restarted.Invoker, _harness.OperatorToken());
        var state = await after.GetVehicleAsync(reporter);
        Assert.True(state.DurableSequence >= durable, $"durable sequence {state.DurableSequence} after the restart, {durable} acknowledged before it");
        Assert.True(state.Signals.TraveledDistance >= durable);
        Assert.Equal(CommandState.Pending, (await after.GetCommandAsync(queued, accepted.Command.CommandId)).State);

        // The overdue command goes out with the vehicle's first session on the new process.
        var connected = Stopwatch.StartNew();
        var received = await FirstCommandAsync(restarted, scheduled);
        output.WriteLine($"scheduled command received {connected.Elapsed.TotalMilliseconds:0} ms after the vehicle connected to the restarted silo");
        Assert.Equal(later.Command.CommandId, received);
        Assert.True(connected.Elapsed < TimeSpan.FromSeconds(5), $"the overdue command took {connected.Elapsed} to arrive");
    }

    private async Task<string> FirstCommandAsync(SiloProcess silo, string vin)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var call = new ApiClient(silo.Invoker, _harness.VehicleToken(vin)).Connect(timeout.Token);
        await call.RequestStream.WriteAsync(new VehicleMessage { Hello = new Hello { Vin = vin, FirmwareVersion = "fw-itest", SoftwareVersion = "sw-itest" } });
        while (await call.ResponseStream.MoveNext(timeout.Token))
        {
            if (call.ResponseStream.Current.KindCase == ServerMessage.KindOneofCase.Command)
            {
                return call.ResponseStream.Current.Command.CommandId;
            }
        }

        throw new InvalidOperationException("the stream ended before any command: " + call.GetStatus());
    }
}
