using System.Buffers;
using static System.FormattableString;

namespace Vehicles.Api.Validation;

/// <summary>
/// The field-level rules of the vehicles.v1 API as pure functions: each returns <see langword="null"/> when the
/// value is valid, or a <see cref="ValidationError"/> for the field path the caller passes in. They neither
/// allocate nor throw on valid input, so they are safe on the status-report hot path.
/// </summary>
public static partial class FieldRules
{
    /// <summary>Length of a VIN (ISO 3779).</summary>
    public const int VinLength = 17;

    /// <summary>Longest fleet identifier (a DNS label).</summary>
    public const int MaxFleetIdLength = 63;

    /// <summary>Longest command identifier.</summary>
    public const int MaxCommandIdLength = 64;

    /// <summary>Longest idempotency key.</summary>
    public const int MaxIdempotencyKeyLength = 128;

    /// <summary>Longest page token.</summary>
    public const int MaxPageTokenLength = 1024;

    /// <summary>Longest firmware or software version string.</summary>
    public const int MaxVersionLength = 64;

    /// <summary>Longest VSS path used as a key of <c>Signals.extra</c>.</summary>
    public const int MaxVssPathLength = 256;

    // ISO 3779 leaves out I, O and Q because they read like 1 and 0.
    private static readonly SearchValues<char> _vinAlphabet = SearchValues.Create("0123456789ABCDEFGHJKLMNPRSTUVWXYZ");
    private static readonly SearchValues<char> _commandIdAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    private static readonly SearchValues<char> _idempotencyKeyAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");
    private static readonly SearchValues<char> _pageTokenAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.-");
    private static readonly SearchValues<char> _vssSegmentCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
    private static readonly SearchValues<char> _lowerAlphanumerics = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");

    /// <summary>
    /// A vehicle identification number: exactly 17 characters from the ISO 3779 alphabet (digits and capital
    /// letters except I, O and Q) and, when <paramref name="verifyCheckDigit"/> is set, a correct North-American
    /// check digit at position 9 (49 CFR 565).
    /// </summary>
    public static ValidationError? Vin(string? vin, string field, bool verifyCheckDigit = false)
    {
        if (string.IsNullOrEmpty(vin))
        {
            return new ValidationError(field, "is required");
        }

        if (vin.Length != VinLength)
        {
            return new ValidationError(field, Invariant($"must be exactly 17 characters, got {vin.Length}"));
        }

        var bad = vin.AsSpan().IndexOfAnyExcept(_vinAlphabet);
        if (bad >= 0)
        {
            return new ValidationError(
                field,
                Invariant($"character {bad + 1} ({Describe(vin[bad])}) is not allowed: use digits and capital letters except I, O and Q"));
        }

        if (verifyCheckDigit)
        {
            var expected = VinCheckDigit.Compute(vin);
            if (vin[VinCheckDigit.Position] != expected)
            {
                return new ValidationError(
                    field,
                    Invariant($"check digit (character 9) is '{vin[VinCheckDigit.Position]}' but must be '{expected}'"));
            }
        }

        return null;
    }

    /// <summary>A finite number between <paramref name="min"/> and <paramref name="max"/>, both included.</summary>
    public static ValidationError? InRange(double value, double min, double max, string field)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return new ValidationError(field, "must be a finite number");
        }

        return value >= min && value <= max ? null : new ValidationError(field, Invariant($"must be between {min} and {max}"));
    }

    /// <summary>A whole number between <paramref name="min"/> and <paramref name="max"/>, both included.</summary>
    public static ValidationError? InRange(long value, long min, long max, string field) =>
        value >= min && value <= max ? null : new ValidationError(field, Invariant($"must be between {min} and {max}"));

    /// <summary>A sequence number: greater than 0 (sequences start at 1, so 0 means "not set").</summary>
    public static ValidationError? SequenceNumber(ulong sequence, string field) =>
        sequence > 0 ? null : new ValidationError(field, "must be greater than 0");

    /// <summary>
    /// A fleet identifier: 1 to 63 characters of lower-case letters, digits and '-', starting and ending with a
    /// letter or digit (a DNS label, so it fits in host names, metric labels and key prefixes).
    /// </summary>
    public static ValidationError? FleetId(string? fleetId, string field)
    {
        if (string.IsNullOrEmpty(fleetId))
        {
            return new ValidationError(field, "is required");
        }

        if (fleetId.Length > MaxFleetIdLength)
        {
            return new ValidationError(field, Invariant($"must be at most {MaxFleetIdLength} characters, got {fleetId.Length}"));
        }

        var span = fleetId.AsSpan();
        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            var ok = _lowerAlphanumerics.Contains(c) || (c == '-' && i > 0 && i < span.Length - 1);
            if (!ok)
            {
                return new ValidationError(
                    field,
                    Invariant($"character {i + 1} ({Describe(c)}) is not allowed: use lower-case letters, digits and '-' (not first or last)"));
            }
        }

        return null;
    }

    /// <summary>A command identifier: 1 to 64 characters of letters, digits, '.', '_' and '-'.</summary>
    public static ValidationError? CommandId(string? commandId, string field) =>
        Token(commandId, field, MaxCommandIdLength, _commandIdAlphabet, "letters, digits, '.', '_' and '-'", required: true);

    /// <summary>
    /// An optional idempotency key: empty for none, else 1 to 128 characters of letters, digits, '.', '_', ':'
    /// and '-' (room for a UUID or a client-side "origin:counter").
    /// </summary>
    public static ValidationError? IdempotencyKey(string? key, string field) =>
        Token(key, field, MaxIdempotencyKeyLength, _idempotencyKeyAlphabet, "letters, digits, '.', '_', ':' and '-'", required: false);

    /// <summary>An optional page token as handed out in next_page_token: at most 1024 base64 characters.</summary>
    public static ValidationError? PageToken(string? token, string field) =>
        Token(token, field, MaxPageTokenLength, _pageTokenAlphabet, "base64 characters", required: false);

    /// <summary>A requested page size: not negative (0 means the default; values above the maximum are capped).</summary>
    public static ValidationError? PageSize(int pageSize, string field) =>
        pageSize >= 0 ? null : new ValidationError(field, "must not be negative");

    /// <summary>The page size to serve for a request that passed <see cref="PageSize"/> (AIP-158).</summary>
    public static int EffectivePageSize(int requested, int defaultSize, int maxSize) =>
        requested <= 0 ? defaultSize : Math.Min(requested, maxSize);

    /// <summary>Optional text of at most <paramref name="maxLength"/> characters.</summary>
    public static ValidationError? MaxLength(string? text, int maxLength, string field) =>
        text is null || text.Length <= maxLength
            ? null
            : new ValidationError(field, Invariant($"must be at most {maxLength} characters, got {text.Length}"));

    /// <summary>Optional text of at most <paramref name="maxLength"/> printable ASCII characters (a version string).</summary>
    public static ValidationError? PrintableAscii(string? text, int maxLength, string field)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (MaxLength(text, maxLength, field) is { } tooLong)
        {
            return tooLong;
        }

        var bad = text.AsSpan().IndexOfAnyExceptInRange(' ', '~');
        return bad < 0 ? null : new ValidationError(field, Invariant($"character {bad + 1} ({Describe(text[bad])}) is not printable ASCII"));
    }

    /// <summary>
    /// A VSS path such as <c>Vehicle.Cabin.Door.Row1.DriverSide.IsOpen</c>: at least two dot-separated segments,
    /// each a letter followed by letters, digits or '_', at most 256 characters in all.
    /// </summary>
    public static ValidationError? VssPath(string? path, string field) =>
        VssPathProblem(path) is { } problem ? new ValidationError(field, problem) : null;

    /// <summary>What is wrong with a VSS path, or null; lets callers build the field path only on failure.</summary>
    internal static string? VssPathProblem(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "must be a VSS path, got an empty key";
        }

        if (path.Length > MaxVssPathLength)
        {
            return Invariant($"must be at most {MaxVssPathLength} characters, got {path.Length}");
        }

        var rest = path.AsSpan();
        var segments = 0;
        while (true)
        {
            var dot = rest.IndexOf('.');
            var segment = dot < 0 ? rest : rest[..dot];
            if (segment.IsEmpty)
            {
                return "must not contain an empty segment";
            }

            if (!char.IsAsciiLetter(segment[0]) || segment[1..].IndexOfAnyExcept(_vssSegmentCharacters) >= 0)
            {
                return "must be a VSS path: dot-separated segments of letters, digits and '_', each starting with a letter";
            }

            segments++;
            if (dot < 0)
            {
                break;
            }

            rest = rest[(dot + 1)..];
        }

        return segments >= 2 ? null : "must be a full VSS path with at least two segments, like Vehicle.Speed";
    }

    internal static string Describe(char c) =>
        c is >= ' ' and <= '~' ? "'" + c + "'" : Invariant($"U+{(int)c:X4}");

    internal static string FormatSpan(TimeSpan span)
    {
        if (span.Ticks % TimeSpan.TicksPerDay == 0 && span.Ticks != 0)
        {
            return Invariant($"{span.Ticks / TimeSpan.TicksPerDay} days");
        }

        if (span.Ticks % TimeSpan.TicksPerHour == 0 && span.Ticks != 0)
        {
            return Invariant($"{span.Ticks / TimeSpan.TicksPerHour} hours");
        }

        if (span.Ticks % TimeSpan.TicksPerMinute == 0 && span.Ticks != 0)
        {
            return Invariant($"{span.Ticks / TimeSpan.TicksPerMinute} minutes");
        }

        if (span.Ticks % TimeSpan.TicksPerSecond == 0)
        {
            return Invariant($"{span.Ticks / TimeSpan.TicksPerSecond} seconds");
        }

        return Invariant($"{span.TotalMilliseconds} ms");
    }

    private static ValidationError? Token(string? value, string field, int maxLength, SearchValues<char> alphabet, string alphabetText, bool required)
    {
        if (string.IsNullOrEmpty(value))
        {
            return required ? new ValidationError(field, "is required") : null;
        }

        if (value.Length > maxLength)
        {
            return new ValidationError(field, Invariant($"must be at most {maxLength} characters, got {value.Length}"));
        }

        var bad = value.AsSpan().IndexOfAnyExcept(alphabet);
        return bad < 0
            ? null
            : new ValidationError(field, Invariant($"character {bad + 1} ({Describe(value[bad])}) is not allowed: use {alphabetText}"));
    }
}
