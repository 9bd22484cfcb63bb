using System.Diagnostics.Metrics;

namespace Vehicles.Api.Services;

/// <summary>
/// The api's own instruments, on the meter <see cref="MeterName"/> (exported with the Orleans and ASP.NET Core meters
/// by the silo): status reports received, applied and rejected, and the vehicle streams open on this silo.
/// </summary>
public sealed class ApiMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Vehicles.Api";

    private readonly Counter<long> _received;
    private readonly Counter<long> _applied;
    private readonly Counter<long> _rejected;
    private readonly UpDownCounter<long> _connected;

    /// <summary>Creates the instruments on a meter from <paramref name="meters"/>.</summary>
    public ApiMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        _received = meter.CreateCounter<long>("vehicles.reports.received", "{report}", "Status reports received, on streams and unary");
        _applied = meter.CreateCounter<long>("vehicles.reports.applied", "{report}", "Status reports the vehicle's grain applied and acknowledged");
        _rejected = meter.CreateCounter<long>("vehicles.reports.rejected", "{report}", "Status reports not applied, by reason: invalid or throttled");
        _connected = meter.CreateUpDownCounter<long>("vehicles.streams.connected", "{stream}", "Vehicle Connect streams open on this silo");
    }

    internal void Received() => _received.Add(1);

    internal void Applied() => _applied.Add(1);

    internal void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal void Connected() => _connected.Add(1);

    internal void Disconnected() => _connected.Add(-1);
}
