using System.Globalization;

namespace Vehicles.LoadTest;

/// <summary>Durations as written on the command line: <c>250us</c>, <c>5ms</c>, <c>1.5s</c>, <c>2m</c>, <c>1h</c>.</summary>
public static class DurationText
{
    private static readonly (string Suffix, double Seconds)[] _units =
    [
        ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
    ];

    /// <summary>Parses a number followed by a unit; a bare number is seconds.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var seconds = 1.0;
        foreach (var (suffix, unit) in _units)
        {
            // "ms" and "us" are checked before "s" and "m", so the longest suffix wins.
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                text = text[..^suffix.Length];
                seconds = unit;
                break;
            }
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            || !double.IsFinite(number) || number < 0 || number * seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)Math.Round(number * seconds * TimeSpan.TicksPerSecond));
        return true;
    }

    /// <summary>Formats a duration compactly, for example <c>1.5s</c> or <c>250ms</c>.</summary>
    public static string Format(TimeSpan value) => value.TotalSeconds >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.###}s")
        : string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.###}ms");
}
