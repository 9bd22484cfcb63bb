using Google.Protobuf.WellKnownTypes;
using static System.FormattableString;

namespace Vehicles.Api.Validation;

// Timestamps and durations.
public static partial class FieldRules
{
    // Protobuf's Timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;
    private const long MaxDurationSeconds = 315_576_000_000;

    /// <summary>
    /// A well-formed timestamp no later than <paramref name="now"/> plus <paramref name="maxSkew"/>. A missing
    /// timestamp is an error only when <paramref name="required"/>.
    /// </summary>
    public static ValidationError? NotInFuture(Timestamp? timestamp, DateTimeOffset now, TimeSpan maxSkew, string field, bool required = true)
    {
        if (timestamp is null)
        {
            return required ? new ValidationError(field, "is required") : null;
        }

        if (WellFormed(timestamp, field) is { } malformed)
        {
            return malformed;
        }

        var latest = now + maxSkew;
        if (CompareTo(timestamp, latest) > 0)
        {
            return new ValidationError(
                field,
                Invariant($"must not be more than {FormatSpan(maxSkew)} in the future (server time {now.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ})"));
        }

        return null;
    }

    /// <summary>
    /// Whether a timestamp passes <see cref="NotInFuture"/>, without building an error: for hot paths that name
    /// the field only on failure.
    /// </summary>
    public static bool IsNotInFuture(Timestamp timestamp, DateTimeOffset now, TimeSpan maxSkew)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        return timestamp.Seconds >= MinTimestampSeconds && timestamp.Nanos is >= 0 and <= 999_999_999
            && CompareTo(timestamp, now + maxSkew) <= 0;
    }

    /// <summary>
    /// An optional timestamp at most <paramref name="maxAhead"/> after <paramref name="now"/>; past times are
    /// accepted (they mean "at once").
    /// </summary>
    public static ValidationError? NotFurtherAheadThan(Timestamp? timestamp, DateTimeOffset now, TimeSpan maxAhead, string field)
    {
        if (timestamp is null)
        {
            return null;
        }

        if (WellFormed(timestamp, field) is { } malformed)
        {
            return malformed;
        }

        return CompareTo(timestamp, now + maxAhead) > 0
            ? new ValidationError(field, Invariant($"must not be more than {FormatSpan(maxAhead)} ahead"))
            : null;
    }

    /// <summary>A timestamp with seconds and nanos in protobuf's documented range.</summary>
    public static ValidationError? WellFormed(Timestamp timestamp, string field)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        if (timestamp.Seconds < MinTimestampSeconds || timestamp.Seconds > MaxTimestampSeconds
            || timestamp.Nanos < 0 || timestamp.Nanos > 999_999_999)
        {
            return new ValidationError(field, "is not a valid timestamp");
        }

        return null;
    }

    /// <summary>
    /// An optional duration between <paramref name="min"/> and <paramref name="max"/>, both included; a missing
    /// duration is valid (the caller applies its default).
    /// </summary>
    public static ValidationError? DurationInRange(Duration? duration, TimeSpan min, TimeSpan max, string field)
    {
        if (duration is null)
        {
            return null;
        }

        var seconds = duration.Seconds;
        var nanos = duration.Nanos;
        if (seconds < -MaxDurationSeconds || seconds > MaxDurationSeconds || nanos < -999_999_999 || nanos > 999_999_999
            || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0))
        {
            return new ValidationError(field, "is not a valid duration");
        }

        return CompareDuration(seconds, nanos, min) < 0 || CompareDuration(seconds, nanos, max) > 0
            ? new ValidationError(field, Invariant($"must be between {FormatSpan(min)} and {FormatSpan(max)}"))
            : null;
    }

    private static int CompareTo(Timestamp timestamp, DateTimeOffset limit)
    {
        // Whole seconds first: avoids DateTime overflow for far-future timestamps.
        var limitTicks = limit.UtcTicks - DateTime.UnixEpoch.Ticks;
        var limitSeconds = Math.DivRem(limitTicks, TimeSpan.TicksPerSecond, out var remainderTicks);
        if (remainderTicks < 0)
        {
            limitSeconds--;
            remainderTicks += TimeSpan.TicksPerSecond;
        }

        var bySeconds = timestamp.Seconds.CompareTo(limitSeconds);
        return bySeconds != 0 ? bySeconds : ((long)timestamp.Nanos).CompareTo(remainderTicks * 100);
    }

    // Exact to the nanosecond, and without overflow: protobuf's duration range exceeds TimeSpan's. Normalized
    // durations and TimeSpan's truncating division both give seconds and nanos the same sign, so the pairs
    // compare lexicographically.
    private static int CompareDuration(long seconds, int nanos, TimeSpan limit)
    {
        var limitSeconds = Math.DivRem(limit.Ticks, TimeSpan.TicksPerSecond, out var limitRemainderTicks);
        var bySeconds = seconds.CompareTo(limitSeconds);
        return bySeconds != 0 ? bySeconds : ((long)nanos).CompareTo(limitRemainderTicks * 100);
    }
}
