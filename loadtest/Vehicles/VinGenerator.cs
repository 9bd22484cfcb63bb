using System.Globalization;
using Vehicles.Api.Validation;

namespace Vehicles.LoadTest;

/// <summary>
/// Generates valid VINs (ISO 3779 alphabet, North-American check digit in position 9) for simulated vehicles: a fixed
/// manufacturer code, a run-specific descriptor so runs and scenarios never share a vehicle, and a serial number.
/// </summary>
public sealed class VinGenerator
{
    /// <summary>Characters a VIN may hold: digits and capital letters except I, O and Q.</summary>
    public const string Alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

    /// <summary>How many distinct VINs one generator yields.</summary>
    public const int Capacity = 33 * 1_000_000;

    private const string ManufacturerCode = "5LT";
    private const char ModelYear = 'R';

    private readonly string _descriptor;

    /// <summary>Creates a generator whose VINs carry <paramref name="descriptor"/> (5 VIN characters) in positions 4 to 8.</summary>
    /// <exception cref="ArgumentException">The descriptor is not 5 VIN characters.</exception>
    public VinGenerator(string descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.Length != 5 || descriptor.Any(c => !Alphabet.Contains(c, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"VIN descriptor '{descriptor}' must be 5 characters of {Alphabet}.", nameof(descriptor));
        }

        _descriptor = descriptor;
    }

    /// <summary>The descriptor in positions 4 to 8.</summary>
    public string Descriptor => _descriptor;

    /// <summary>A generator with a random descriptor, so that its VINs are new to the server.</summary>
    public static VinGenerator CreateRandom(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<char> descriptor = stackalloc char[5];
        for (var i = 0; i < descriptor.Length; i++)
        {
            descriptor[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return new VinGenerator(new string(descriptor));
    }

    /// <summary>The VIN of vehicle number <paramref name="index"/> (0 to <see cref="Capacity"/> − 1).</summary>
    public string Create(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Capacity);
        var plant = Alphabet[index / 1_000_000];
        var serial = (index % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
        var vin = string.Concat(ManufacturerCode, _descriptor, "0", ModelYear.ToString(), plant.ToString(), serial).ToCharArray();
        vin[8] = CheckDigit(vin);
        return new string(vin);
    }

    /// <summary>The check digit (position 9) a VIN must carry.</summary>
    public static char CheckDigit(ReadOnlySpan<char> vin)
    {
        if (vin.Length != 17)
        {
            throw new ArgumentException("A VIN has 17 characters.", nameof(vin));
        }

        return VinCheckDigit.Compute(vin);
    }
}
