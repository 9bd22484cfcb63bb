namespace Vehicles.Api.Validation;

/// <summary>The North-American VIN check digit (49 CFR 565.15): weighted sum of transliterated characters mod 11.</summary>
public static class VinCheckDigit
{
    /// <summary>The index of the check digit: the ninth character.</summary>
    public const int Position = 8;

    private static readonly int[] _weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

    /// <summary>The expected check digit of a VIN already known to have 17 characters of the ISO 3779 alphabet.</summary>
    public static char Compute(ReadOnlySpan<char> vin)
    {
        var sum = 0;
        for (var i = 0; i < FieldRules.VinLength; i++)
        {
            sum += Transliterate(vin[i]) * _weights[i];
        }

        var remainder = sum % 11;
        return remainder == 10 ? 'X' : (char)('0' + remainder);
    }

    private static int Transliterate(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'H' => c - 'A' + 1,
        >= 'J' and <= 'N' => c - 'J' + 1,
        'P' => 7,
        'R' => 9,
        >= 'S' and <= 'Z' => c - 'S' + 2,
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, "Not a VIN character."),
    };
}
