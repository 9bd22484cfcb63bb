using System.Collections.Concurrent;
using System.Diagnostics;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

/// <summary>A command is traceable from its gRPC call through the vehicle's grain to the state write.</summary>
public sealed class TracingTests : SiloTestBase
{
    // What a configured OTLP collector turns on, without a collector to export to: the test listens itself.
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Telemetry:Traces"] = "true" };

    [Fact]
    public async Task SendCommand_IsOneTrace_FromTheGrpcCallThroughTheGrainToTheStateWrite()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore" || source.Name.StartsWith("Microsoft.Orleans.", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        stopped.Clear();
        await Operator.SendCommandAsync(new SendCommandRequest { Vin = Vin(1), Name = "flash_lights" });
        await KnownCommandAsync();

        // The grain call, the server's activity for the gRPC request it serves, and the state write under it, in one trace.
        var grainCall = await Eventually.FindAsync(stopped, a => a.Source.Name == "Microsoft.Orleans.Application" && a.DisplayName == "IVehicleGrain/SendCommandAsync");
        var trace = stopped.Where(a => a.TraceId == grainCall.TraceId).ToList();
        var request = Assert.Single(trace, a => a.Source.Name == "Microsoft.AspNetCore");
        var write = Assert.Single(trace, a => a.Source.Name == "Microsoft.Orleans.Storage");
        Assert.Equal(request.SpanId, Root(grainCall, trace).SpanId);
        Assert.Equal(request.SpanId, Root(write, trace).SpanId);
    }

    // The outermost recorded activity above this one.
    private static Activity Root(Activity activity, List<Activity> trace)
    {
        var current = activity;
        while (trace.FirstOrDefault(a => a.SpanId == current.ParentSpanId) is { } parent)
        {
            current = parent;
        }

        return current;
    }

    private async Task KnownCommandAsync()
    {
        var listed = await Operator.ListCommandsAsync(new ListCommandsRequest { Vin = Vin(1) });
        Assert.Single(listed.Commands);
    }
}

/// <summary>Polls a queue with a deadline, for activities that stop after the call's answer has reached the client.</summary>
internal static class Eventually
{
    public static async Task<T> FindAsync<T>(ConcurrentQueue<T> queue, Func<T, bool> match)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (queue.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new Xunit.Sdk.XunitException("no matching activity within 10 s; saw: " + string.Join(", ", queue.Select(a => a is Activity act ? act.Source.Name + ":" + act.DisplayName + ":" + act.TraceId : a!.ToString())));
    }
}
