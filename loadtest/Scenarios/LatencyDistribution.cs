using System.Globalization;

namespace Vehicles.LoadTest;

/// <summary>A random latency, for synthetic steps: <c>none</c>, <c>fixed:2ms</c>, <c>uniform:1ms-5ms</c>,
/// <c>exp:2ms</c> (exponential with that mean) or <c>bimodal:1ms,20ms,0.1</c> (fast, slow, share of slow).</summary>
public abstract class LatencyDistribution
{
    /// <summary>Draws one latency.</summary>
    public abstract TimeSpan Sample(Random random);

    /// <summary>Parses a distribution.</summary>
    /// <exception cref="FormatException">The text is not a distribution.</exception>
    public static LatencyDistribution Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? text : text[..colon];
        var args = colon < 0 ? "" : text[(colon + 1)..];
        switch (kind.Trim().ToUpperInvariant())
        {
            case "NONE" when args.Length == 0:
                return new Fixed(TimeSpan.Zero);
            case "FIXED":
                return new Fixed(Duration(args));
            case "UNIFORM":
            {
                var parts = args.Split('-', 2);
                return parts.Length == 2 && Duration(parts[0]) is var low && Duration(parts[1]) is var high && high >= low
                    ? new Uniform(low, high)
                    : throw Invalid(text);
            }

            case "EXP":
                return new Exponential(Duration(args));
            case "BIMODAL":
            {
                var parts = args.Split(',');
                return parts.Length == 3
                    && double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var share)
                    && share is >= 0 and <= 1
                    ? new Bimodal(Duration(parts[0]), Duration(parts[1]), share)
                    : throw Invalid(text);
            }

            default:
                throw Invalid(text);
        }

        static TimeSpan Duration(string part) =>
            DurationText.TryParse(part, out var value) ? value : throw Invalid(part);
    }

    private static FormatException Invalid(string text) =>
        new($"'{text}' is not a latency distribution (none, fixed:2ms, uniform:1ms-5ms, exp:2ms, bimodal:1ms,20ms,0.1).");

    private sealed class Fixed(TimeSpan value) : LatencyDistribution
    {
        public override TimeSpan Sample(Random random) => value;
    }

    private sealed class Uniform(TimeSpan low, TimeSpan high) : LatencyDistribution
    {
        public override TimeSpan Sample(Random random) => low + ((high - low) * random.NextDouble());
    }

    private sealed class Exponential(TimeSpan mean) : LatencyDistribution
    {
        public override TimeSpan Sample(Random random) => mean * -Math.Log(1 - random.NextDouble());
    }

    private sealed class Bimodal(TimeSpan fast, TimeSpan slow, double slowShare) : LatencyDistribution
    {
        public override TimeSpan Sample(Random random) => random.NextDouble() < slowShare ? slow : fast;
    }
}
