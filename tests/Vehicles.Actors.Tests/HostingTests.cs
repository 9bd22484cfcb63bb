using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Vehicles.Actors.Tests;

public sealed class HostingTests
{
    [Fact]
    public void AddActors_OnAHostBuilder_BindsTheActorsSection_LetsCodeOverrideIt_AndRegistersTheHostedRuntime()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Actors:CollectionAge"] = "00:05:00",
            ["Actors:CallTimeout"] = "00:00:07",
            ["Actors:MailboxCapacity"] = "123",
        });

        builder.AddActors(o => o.CollectionAge = TimeSpan.FromMinutes(3));
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<ActorsOptions>>().Value;
        Assert.Equal(TimeSpan.FromMinutes(3), options.CollectionAge);
        Assert.Equal(TimeSpan.FromSeconds(7), options.CallTimeout);
        Assert.Equal(123, options.MailboxCapacity);
        var runtime = host.Services.GetRequiredService<ActorRuntime>();
        Assert.Same(runtime, host.Services.GetRequiredService<IGrainFactory>());
        Assert.Contains(runtime, host.Services.GetServices<IHostedService>());
    }

    [Fact]
    public async Task Metrics_CountCalls_AndReportActivations()
    {
        await using var silo = await TestSilo.StartAsync(services: s => s.AddMetrics());
        var factory = silo.Services.GetRequiredService<IMeterFactory>();
        var measurements = new ConcurrentDictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Vehicles.Actors" && instrument.Meter.Scope == factory)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measurements.AddOrUpdate(instrument.Name, value, (_, old) => instrument.Name == "vehicles.actors.activations" ? value : old + value));
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => measurements.AddOrUpdate(instrument.Name, 1, (_, old) => old + 1));
        listener.SetMeasurementEventCallback<int>((instrument, _, _, _) => measurements.AddOrUpdate(instrument.Name, 1, (_, old) => old + 1));
        listener.Start();

        for (var i = 0; i < 10; i++)
        {
            await silo.Grains.GetGrain<ITurnGrain>("m" + (i % 3)).EchoAsync("x");
        }

        listener.RecordObservableInstruments();
        Assert.Equal(10, measurements["vehicles.actors.calls"]);
        Assert.Equal(10, measurements["vehicles.actors.call.duration"]);
        Assert.Equal(10, measurements["vehicles.actors.mailbox.depth"]);
        Assert.Equal(3, measurements["vehicles.actors.activations"]);
    }

    [Fact]
    public async Task RemotePlacement_SendsTheCallThroughTheTransport_AsAMessageWithArguments()
    {
        var transport = new RecordingTransport();
        await using var silo = await TestSilo.StartAsync(services: s =>
        {
            s.AddSingleton<IPlacementDirector>(new KeyPlacement(key => !key.StartsWith("remote", StringComparison.Ordinal)));
            s.AddSingleton<IGrainCallTransport>(transport);
        });

        var local = await silo.Grains.GetGrain<ITurnGrain>("here").EchoAsync("local");
        var remoteCall = silo.Grains.GetGrain<ITurnGrain>("remote-1").EchoAsync("over the wire");
        var (target, request) = Assert.Single(transport.Sent);
        request.TrySetResult("answered remotely");

        Assert.Equal("local", local);
        Assert.Equal(new GrainId("turn", "remote-1"), target);
        Assert.Equal(nameof(ITurnGrain.EchoAsync), request.Method.Name);
        Assert.Equal("over the wire", request.GetArgument(0));
        Assert.Equal("answered remotely", await Eventually.Within(remoteCall));
        Assert.Equal(1, silo.Runtime.ActivationCount);
    }

    private sealed class KeyPlacement(Func<string, bool> isLocal) : IPlacementDirector
    {
        public bool IsLocal(GrainId grainId) => isLocal(grainId.Key);
    }

    private sealed class RecordingTransport : IGrainCallTransport
    {
        public ConcurrentQueue<(GrainId, GrainRequest)> Sent { get; } = new();

        public void Send(GrainId target, GrainRequest request) => Sent.Enqueue((target, request));
    }
}
