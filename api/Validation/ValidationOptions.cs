namespace Vehicles.Api.Validation;

/// <summary>
/// Limits applied by <see cref="RequestValidator"/>. Bound from configuration (section
/// <see cref="SectionName"/>); the defaults are the documented limits of the vehicles.v1 protos.
/// </summary>
public sealed class ValidationOptions
{
    /// <summary>Configuration section the host binds these options from.</summary>
    public const string SectionName = "Validation";

    /// <summary>How far in the future a vehicle's timestamps may be, to allow for clock drift. Default 5 minutes.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Also check the North-American check digit (position 9) of VINs. Off by default: vehicles built for other
    /// markets need not carry one.
    /// </summary>
    public bool VerifyVinCheckDigit { get; set; }

    /// <summary>Shortest time to live a command may ask for. Default 1 second.</summary>
    public TimeSpan MinCommandTtl { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest time to live a command may ask for. Default 7 days.</summary>
    public TimeSpan MaxCommandTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How far ahead a command's not_before may be. Default 30 days.</summary>
    public TimeSpan MaxCommandSchedule { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Page size used when a request leaves it 0. Default 100.</summary>
    public int DefaultPageSize { get; set; } = 100;

    /// <summary>Largest page size served; larger requests are served this many (AIP-158). Default 1000.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Most entries allowed in <c>Signals.extra</c>. Default 64.</summary>
    public int MaxExtraSignals { get; set; } = 64;

    /// <summary>Shortest WatchFleet min_interval a caller may ask for. Default 100 ms.</summary>
    public TimeSpan MinWatchInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest WatchFleet min_interval a caller may ask for. Default 10 minutes.</summary>
    public TimeSpan MaxWatchInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>WatchFleet min_interval used when the request leaves it unset. Default 1 second.</summary>
    public TimeSpan DefaultWatchInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws when the options contradict each other, so a bad configuration fails at start-up.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void EnsureValid()
    {
        Require(MaxClockSkew >= TimeSpan.Zero, nameof(MaxClockSkew), "must not be negative");
        Require(MinCommandTtl > TimeSpan.Zero, nameof(MinCommandTtl), "must be positive");
        Require(MaxCommandTtl >= MinCommandTtl, nameof(MaxCommandTtl), "must be at least MinCommandTtl");
        Require(MaxCommandSchedule >= TimeSpan.Zero, nameof(MaxCommandSchedule), "must not be negative");
        Require(MaxPageSize >= 1, nameof(MaxPageSize), "must be at least 1");
        Require(DefaultPageSize >= 1 && DefaultPageSize <= MaxPageSize, nameof(DefaultPageSize), "must be between 1 and MaxPageSize");
        Require(MaxExtraSignals >= 0, nameof(MaxExtraSignals), "must not be negative");
        Require(MinWatchInterval > TimeSpan.Zero, nameof(MinWatchInterval), "must be positive");
        Require(MaxWatchInterval >= MinWatchInterval, nameof(MaxWatchInterval), "must be at least MinWatchInterval");
        Require(
            DefaultWatchInterval >= MinWatchInterval && DefaultWatchInterval <= MaxWatchInterval,
            nameof(DefaultWatchInterval),
            "must be between MinWatchInterval and MaxWatchInterval");
    }

    private static void Require(bool condition, string option, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Validation option {option} {message}.", option);
        }
    }
}
