using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Vehicles.Grpc.Benchmarks;

/// <summary>
/// A sampling allocation profile without dotnet-trace (not obtainable here): listens in-process to the
/// runtime's GCAllocationTick events (one about every 100 KB allocated, naming the type that crossed the
/// mark) and sums their amounts by type. Enabled with <c>--alloc-profile</c>; read at GET <c>/alloc-profile</c>,
/// reset at DELETE.
/// </summary>
internal sealed class AllocationProfiler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || amountIndex < 0)
        {
            return;
        }

        var type = eventData.Payload![typeIndex] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[amountIndex], CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(type, amount, (_, total) => total + amount);
    }

    public void Reset() => _bytesByType.Clear();

    public string Report(int top)
    {
        var total = _bytesByType.Values.Sum();
        var report = new StringBuilder();
        report.Append(CultureInfo.InvariantCulture, $"sampled bytes: {total}\n");
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            report.Append(CultureInfo.InvariantCulture, $"{100.0 * bytes / Math.Max(total, 1),6:F1}%  {type}\n");
        }

        return report.ToString();
    }
}
