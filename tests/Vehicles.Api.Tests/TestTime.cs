namespace Vehicles.Api.Tests;

/// <summary>Where the tests' clocks start: Microsoft's FakeTimeProvider would start in 2000, and tokens carry real-looking dates.</summary>
internal static class TestTime
{
    public static DateTimeOffset Start { get; } = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
}
