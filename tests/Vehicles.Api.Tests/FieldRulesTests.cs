using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Tests;

public sealed class FieldRulesTests
{
    private static readonly DateTimeOffset _now = TestTime.Start;

    [Theory]
    [InlineData("1M8GDM9AXKP042788")]
    [InlineData("1HGCM82633A004352")]
    [InlineData("WVWZZZ1JZXW000001")]
    [InlineData("00000000000000000")]
    public void Vin_WhenWellFormed_IsValid(string vin)
    {
        var error = FieldRules.Vin(vin, "vin");

        Assert.Null(error);
    }

    [Theory]
    [InlineData(null, "is required")]
    [InlineData("", "is required")]
    [InlineData("1M8GDM9AXKP04278", "must be exactly 17 characters, got 16")]
    [InlineData("1M8GDM9AXKP0427888", "must be exactly 17 characters, got 18")]
    [InlineData("1M8GDM9AXKP04278I", "character 17 ('I') is not allowed: use digits and capital letters except I, O and Q")]
    [InlineData("OM8GDM9AXKP042788", "character 1 ('O') is not allowed: use digits and capital letters except I, O and Q")]
    [InlineData("1M8GDQ9AXKP042788", "character 6 ('Q') is not allowed: use digits and capital letters except I, O and Q")]
    [InlineData("1m8GDM9AXKP042788", "character 2 ('m') is not allowed: use digits and capital letters except I, O and Q")]
    [InlineData("1M8GDM9AXKP 42788", "character 12 (' ') is not allowed: use digits and capital letters except I, O and Q")]
    [InlineData("1M8GDM9AXKP\u00C942788", "character 12 (U+00C9) is not allowed: use digits and capital letters except I, O and Q")]
    public void Vin_WhenMalformed_NamesFieldAndProblem(string? vin, string message)
    {
        var error = FieldRules.Vin(vin, "hello.vin");

        Assert.Equal(new ValidationError("hello.vin", message), error);
    }

    [Theory]
    [InlineData("1M8GDM9AXKP042788")]
    [InlineData("1HGCM82633A004352")]
    [InlineData("JH4KA7561PC008269")]
    [InlineData("11111111111111111")]
    public void Vin_WithCheckDigitVerification_AcceptsCorrectCheckDigit(string vin)
    {
        var error = FieldRules.Vin(vin, "vin", verifyCheckDigit: true);

        Assert.Null(error);
    }

    [Theory]
    [InlineData("1M8GDM9A1KP042788", '1', 'X')]
    [InlineData("WVWZZZ1JZXW000001", 'Z', '0')]
    [InlineData("1HGCM82643A004352", '4', '3')]
    public void Vin_WithCheckDigitVerification_RejectsWrongCheckDigit(string vin, char actual, char expected)
    {
        var error = FieldRules.Vin(vin, "vin", verifyCheckDigit: true);

        Assert.Equal(new ValidationError("vin", $"check digit (character 9) is '{actual}' but must be '{expected}'"), error);
    }

    [Fact]
    public void Vin_WithoutCheckDigitVerification_AcceptsWrongCheckDigit()
    {
        var error = FieldRules.Vin("1M8GDM9A1KP042788", "vin");

        Assert.Null(error);
    }

    [Theory]
    [InlineData(-90.0)]
    [InlineData(0.0)]
    [InlineData(90.0)]
    public void InRange_WhenInsideBounds_IsValid(double value)
    {
        Assert.Null(FieldRules.InRange(value, -90, 90, "lat"));
    }

    [Theory]
    [InlineData(-90.0001, "must be between -90 and 90")]
    [InlineData(90.5, "must be between -90 and 90")]
    [InlineData(double.NaN, "must be a finite number")]
    [InlineData(double.PositiveInfinity, "must be a finite number")]
    [InlineData(double.NegativeInfinity, "must be a finite number")]
    public void InRange_WhenOutsideBoundsOrNotFinite_Fails(double value, string message)
    {
        Assert.Equal(new ValidationError("lat", message), FieldRules.InRange(value, -90, 90, "lat"));
    }

    [Fact]
    public void InRange_FormatsFractionalBoundsInvariantly()
    {
        var error = FieldRules.InRange(2.0, 0.5, 1.5, "x");

        Assert.Equal("x: must be between 0.5 and 1.5", error?.ToString());
    }

    [Fact]
    public void SequenceNumber_WhenZero_Fails()
    {
        Assert.Equal(new ValidationError("status.sequence", "must be greater than 0"), FieldRules.SequenceNumber(0, "status.sequence"));
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(ulong.MaxValue)]
    public void SequenceNumber_WhenPositive_IsValid(ulong sequence)
    {
        Assert.Null(FieldRules.SequenceNumber(sequence, "status.sequence"));
    }

    [Fact]
    public void NotInFuture_WhenExactlyAtSkewLimit_IsValid()
    {
        var timestamp = Timestamp.FromDateTimeOffset(_now + TimeSpan.FromMinutes(5));

        Assert.Null(FieldRules.NotInFuture(timestamp, _now, TimeSpan.FromMinutes(5), "t"));
        Assert.True(FieldRules.IsNotInFuture(timestamp, _now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void NotInFuture_WhenOneNanosecondBeyondSkew_Fails()
    {
        var timestamp = Timestamp.FromDateTimeOffset(_now + TimeSpan.FromMinutes(5));
        timestamp.Nanos += 1;

        var error = FieldRules.NotInFuture(timestamp, _now, TimeSpan.FromMinutes(5), "status.capture_time");

        Assert.Equal(
            new ValidationError("status.capture_time", "must not be more than 5 minutes in the future (server time 2026-11-22T12:00:00.000Z)"),
            error);
        Assert.False(FieldRules.IsNotInFuture(timestamp, _now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void NotInFuture_WhenLongPast_IsValid()
    {
        var timestamp = Timestamp.FromDateTimeOffset(_now - TimeSpan.FromDays(365));

        Assert.Null(FieldRules.NotInFuture(timestamp, _now, TimeSpan.FromMinutes(5), "t"));
    }

    [Fact]
    public void NotInFuture_WhenMissing_FailsOnlyIfRequired()
    {
        Assert.Equal(new ValidationError("t", "is required"), FieldRules.NotInFuture(null, _now, TimeSpan.Zero, "t"));
        Assert.Null(FieldRules.NotInFuture(null, _now, TimeSpan.Zero, "t", required: false));
    }

    [Theory]
    [InlineData(0L, -1)]
    [InlineData(0L, 1_000_000_000)]
    [InlineData(253_402_300_800L, 0)]
    [InlineData(-62_135_596_801L, 0)]
    public void NotInFuture_WhenTimestampMalformed_Fails(long seconds, int nanos)
    {
        var timestamp = new Timestamp { Seconds = seconds, Nanos = nanos };

        Assert.Equal(new ValidationError("t", "is not a valid timestamp"), FieldRules.NotInFuture(timestamp, _now, TimeSpan.FromMinutes(5), "t"));
        Assert.False(FieldRules.IsNotInFuture(timestamp, _now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void NotFurtherAheadThan_WhenBeyondLimit_Fails()
    {
        var timestamp = Timestamp.FromDateTimeOffset(_now + TimeSpan.FromDays(31));

        var error = FieldRules.NotFurtherAheadThan(timestamp, _now, TimeSpan.FromDays(30), "not_before");

        Assert.Equal(new ValidationError("not_before", "must not be more than 30 days ahead"), error);
    }

    [Fact]
    public void NotFurtherAheadThan_WhenPastOrMissing_IsValid()
    {
        Assert.Null(FieldRules.NotFurtherAheadThan(Timestamp.FromDateTimeOffset(_now - TimeSpan.FromHours(1)), _now, TimeSpan.FromDays(30), "nb"));
        Assert.Null(FieldRules.NotFurtherAheadThan(null, _now, TimeSpan.FromDays(30), "nb"));
    }

    [Theory]
    [InlineData(1L, 0)]
    [InlineData(3600L, 0)]
    [InlineData(604_800L, 0)]
    public void DurationInRange_WhenInsideBounds_IsValid(long seconds, int nanos)
    {
        var duration = new Duration { Seconds = seconds, Nanos = nanos };

        Assert.Null(FieldRules.DurationInRange(duration, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), "ttl"));
    }

    [Theory]
    [InlineData(0L, 999_999_999)]
    [InlineData(0L, 0)]
    [InlineData(604_800L, 1)]
    [InlineData(315_576_000_000L, 0)]
    [InlineData(-5L, 0)]
    public void DurationInRange_WhenOutsideBounds_Fails(long seconds, int nanos)
    {
        var duration = new Duration { Seconds = seconds, Nanos = nanos };

        var error = FieldRules.DurationInRange(duration, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), "ttl");

        Assert.Equal(new ValidationError("ttl", "must be between 1 seconds and 7 days"), error);
    }

    [Theory]
    [InlineData(1L, -1)]
    [InlineData(-1L, 1)]
    [InlineData(315_576_000_001L, 0)]
    [InlineData(0L, 1_000_000_000)]
    public void DurationInRange_WhenMalformed_Fails(long seconds, int nanos)
    {
        var duration = new Duration { Seconds = seconds, Nanos = nanos };

        var error = FieldRules.DurationInRange(duration, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), "ttl");

        Assert.Equal(new ValidationError("ttl", "is not a valid duration"), error);
    }

    [Fact]
    public void DurationInRange_WhenMissing_IsValid()
    {
        Assert.Null(FieldRules.DurationInRange(null, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), "ttl"));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("fleet-1")]
    [InlineData("0abc")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123")]
    public void FleetId_WhenDnsLabel_IsValid(string fleetId)
    {
        Assert.Null(FieldRules.FleetId(fleetId, "fleet_id"));
    }

    [Theory]
    [InlineData("", "is required")]
    [InlineData("Fleet", "character 1 ('F') is not allowed: use lower-case letters, digits and '-' (not first or last)")]
    [InlineData("-fleet", "character 1 ('-') is not allowed: use lower-case letters, digits and '-' (not first or last)")]
    [InlineData("fleet-", "character 6 ('-') is not allowed: use lower-case letters, digits and '-' (not first or last)")]
    [InlineData("fleet_1", "character 6 ('_') is not allowed: use lower-case letters, digits and '-' (not first or last)")]
    [InlineData("*", "character 1 ('*') is not allowed: use lower-case letters, digits and '-' (not first or last)")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234", "must be at most 63 characters, got 64")]
    public void FleetId_WhenMalformed_Fails(string fleetId, string message)
    {
        Assert.Equal(new ValidationError("fleet_id", message), FieldRules.FleetId(fleetId, "fleet_id"));
    }

    [Theory]
    [InlineData("01JD3X9Q7R8S")]
    [InlineData("cmd_1.retry-2")]
    public void CommandId_WhenWellFormed_IsValid(string commandId)
    {
        Assert.Null(FieldRules.CommandId(commandId, "command_id"));
    }

    [Theory]
    [InlineData("", "is required")]
    [InlineData("a/b", "character 2 ('/') is not allowed: use letters, digits, '.', '_' and '-'")]
    [InlineData("a b", "character 2 (' ') is not allowed: use letters, digits, '.', '_' and '-'")]
    public void CommandId_WhenMalformed_Fails(string commandId, string message)
    {
        Assert.Equal(new ValidationError("command_id", message), FieldRules.CommandId(commandId, "command_id"));
    }

    [Fact]
    public void CommandId_WhenTooLong_Fails()
    {
        Assert.Equal(
            new ValidationError("command_id", "must be at most 64 characters, got 65"),
            FieldRules.CommandId(new string('a', 65), "command_id"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    [InlineData("dashboard:42")]
    public void IdempotencyKey_WhenEmptyOrWellFormed_IsValid(string key)
    {
        Assert.Null(FieldRules.IdempotencyKey(key, "idempotency_key"));
    }

    [Fact]
    public void IdempotencyKey_WhenTooLong_Fails()
    {
        Assert.Equal(
            new ValidationError("idempotency_key", "must be at most 128 characters, got 129"),
            FieldRules.IdempotencyKey(new string('k', 129), "idempotency_key"));
    }

    [Fact]
    public void IdempotencyKey_WhenBadCharacter_Fails()
    {
        Assert.Equal(
            new ValidationError("idempotency_key", "character 4 ('#') is not allowed: use letters, digits, '.', '_', ':' and '-'"),
            FieldRules.IdempotencyKey("key#1", "idempotency_key"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5000)]
    public void PageSize_WhenNotNegative_IsValid(int pageSize)
    {
        Assert.Null(FieldRules.PageSize(pageSize, "page_size"));
    }

    [Fact]
    public void PageSize_WhenNegative_Fails()
    {
        Assert.Equal(new ValidationError("page_size", "must not be negative"), FieldRules.PageSize(-1, "page_size"));
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 1)]
    [InlineData(1000, 1000)]
    [InlineData(1001, 1000)]
    public void EffectivePageSize_AppliesDefaultAndCap(int requested, int expected)
    {
        Assert.Equal(expected, FieldRules.EffectivePageSize(requested, defaultSize: 100, maxSize: 1000));
    }

    [Theory]
    [InlineData("")]
    [InlineData("eyJ2aW4iOiIxTThHRE05QVhLUDA0Mjc4OCJ9")]
    [InlineData("a+b/c=_-.")]
    public void PageToken_WhenEmptyOrBase64_IsValid(string token)
    {
        Assert.Null(FieldRules.PageToken(token, "page_token"));
    }

    [Fact]
    public void PageToken_WhenNotBase64OrTooLong_Fails()
    {
        Assert.Equal(
            new ValidationError("page_token", "character 4 ('!') is not allowed: use base64 characters"),
            FieldRules.PageToken("abc!", "page_token"));
        Assert.Equal(
            new ValidationError("page_token", "must be at most 1024 characters, got 1025"),
            FieldRules.PageToken(new string('A', 1025), "page_token"));
    }

    [Theory]
    [InlineData("Vehicle.Speed")]
    [InlineData("Vehicle.Cabin.Door.Row1.DriverSide.IsOpen")]
    [InlineData("OEM.Brand_X.Value2")]
    public void VssPath_WhenWellFormed_IsValid(string path)
    {
        Assert.Null(FieldRules.VssPath(path, "k"));
    }

    [Theory]
    [InlineData("", "must be a VSS path, got an empty key")]
    [InlineData("Vehicle", "must be a full VSS path with at least two segments, like Vehicle.Speed")]
    [InlineData("Vehicle..Speed", "must not contain an empty segment")]
    [InlineData(".Vehicle.Speed", "must not contain an empty segment")]
    [InlineData("Vehicle.Speed.", "must not contain an empty segment")]
    [InlineData("Vehicle.1Speed", "must be a VSS path: dot-separated segments of letters, digits and '_', each starting with a letter")]
    [InlineData("Vehicle.Speed _now", "must be a VSS path: dot-separated segments of letters, digits and '_', each starting with a letter")]
    [InlineData("Vehicle.Cabin.Door.*.IsLocked", "must be a VSS path: dot-separated segments of letters, digits and '_', each starting with a letter")]
    public void VssPath_WhenMalformed_Fails(string path, string message)
    {
        Assert.Equal(new ValidationError("k", message), FieldRules.VssPath(path, "k"));
    }

    [Fact]
    public void VssPath_WhenTooLong_Fails()
    {
        var path = "Vehicle." + new string('A', 249);

        Assert.Equal(new ValidationError("k", "must be at most 256 characters, got 257"), FieldRules.VssPath(path, "k"));
    }

    [Fact]
    public void PrintableAscii_WhenControlCharacterOrTooLong_Fails()
    {
        Assert.Equal(
            new ValidationError("hello.firmware_version", "character 4 (U+000A) is not printable ASCII"),
            FieldRules.PrintableAscii("1.2\n", 64, "hello.firmware_version"));
        Assert.Equal(
            new ValidationError("hello.firmware_version", "must be at most 64 characters, got 65"),
            FieldRules.PrintableAscii(new string('1', 65), 64, "hello.firmware_version"));
        Assert.Null(FieldRules.PrintableAscii("2026.44.1 (build 7)", 64, "hello.firmware_version"));
    }

    [Fact]
    public void ValidationError_ToString_JoinsFieldAndMessage()
    {
        var error = new ValidationError("status.signals.latitude", "must be between -90 and 90");

        Assert.Equal("status.signals.latitude: must be between -90 and 90", error.ToString());
    }
}
