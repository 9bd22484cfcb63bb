namespace Vehicles.Api.Services;

/// <summary>Limits of the vehicle side of the API, bound from the section <see cref="SectionName"/>.</summary>
public sealed class VehicleLinkOptions
{
    /// <summary>Configuration section the options are bound from.</summary>
    public const string SectionName = "VehicleLink";

    /// <summary>Status reports per second a connection may send on average. Default 10.</summary>
    public double MaxReportsPerSecond { get; set; } = 10;

    /// <summary>Reports a connection may send at once above the average (the token bucket's size). Default 20.</summary>
    public int ReportBurst { get; set; } = 20;

    /// <summary>Reports sent while still told to wait before the stream ends with RESOURCE_EXHAUSTED. Default 5.</summary>
    public int MaxIgnoredThrottles { get; set; } = 5;

    /// <summary>Heartbeat interval announced in Welcome. Default 30 seconds.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a new stream may take to send Hello. Default 10 seconds.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Maximum status reports sent but not yet acked, announced in Welcome. Default 64.</summary>
    public int MaxUnackedReports { get; set; } = 64;

    /// <summary>Longest a SendCommand with wait_for_result waits when the call has no deadline. Default 60 seconds.</summary>
    public TimeSpan MaxWaitForResult { get; set; } = TimeSpan.FromSeconds(60);

    internal void EnsureValid()
    {
        if (!(MaxReportsPerSecond > 0) || ReportBurst < 1 || MaxIgnoredThrottles < 0
            || HeartbeatInterval <= TimeSpan.Zero || HelloTimeout <= TimeSpan.Zero || MaxUnackedReports < 1 || MaxWaitForResult <= TimeSpan.Zero)
        {
            throw new InvalidOperationException(
                "VehicleLink options out of range: MaxReportsPerSecond > 0, ReportBurst >= 1, MaxIgnoredThrottles >= 0, MaxUnackedReports >= 1 and positive times are required.");
        }
    }
}
