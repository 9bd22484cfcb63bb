using System.Buffers;
using System.Text;

namespace Vehicles.Cluster;

/// <summary>
/// A 64-bit hash that is the same in every process and on every platform (unlike <see cref="string.GetHashCode()"/>):
/// placement decisions made by different silos must agree. FNV-1a over UTF-8 spreads short keys poorly in its high
/// bits, so callers that compare hashes run them through <see cref="Mix"/> first.
/// </summary>
public static class StableHash
{
    private const ulong FnvOffsetBasis = 0xcbf29ce484222325;
    private const ulong FnvPrime = 0x100000001b3;
    private const int StackLimit = 256;

    /// <summary>64-bit FNV-1a of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static ulong Fnv1a64(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Fnv1a64(text.AsSpan(), FnvOffsetBasis);
    }

    /// <summary>64-bit FNV-1a of raw bytes.</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> bytes) => Fnv1a64(bytes, FnvOffsetBasis);

    /// <summary>The splitmix64 finalizer: a bijection in which every input bit flips about half of the output bits.</summary>
    public static ulong Mix(ulong value)
    {
        value ^= value >> 30;
        value *= 0xbf58476d1ce4e5b9;
        value ^= value >> 27;
        value *= 0x94d049bb133111eb;
        value ^= value >> 31;
        return value;
    }

    /// <summary>Continues an FNV-1a hash over the UTF-8 bytes of <paramref name="text"/> (so that parts hash like their concatenation).</summary>
    internal static ulong Fnv1a64(ReadOnlySpan<char> text, ulong state)
    {
        // VINs, grain types and endpoints are ASCII, whose UTF-8 bytes are the chars themselves: skip the encoder.
        if (Ascii.IsValid(text))
        {
            foreach (var c in text)
            {
                state ^= c;
                state *= FnvPrime;
            }

            return state;
        }

        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(text, buffer);
            return Fnv1a64(buffer[..length], state);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    internal static ulong Fnv1a64(ReadOnlySpan<byte> bytes, ulong state)
    {
        foreach (var b in bytes)
        {
            state ^= b;
            state *= FnvPrime;
        }

        return state;
    }

    /// <summary>The hash of a grain identity, <c>type/key</c>, without building the joined string.</summary>
    internal static ulong OfGrain(string type, string key)
    {
        var state = Fnv1a64(type.AsSpan(), FnvOffsetBasis);
        state = Fnv1a64("/"u8, state);
        return Fnv1a64(key.AsSpan(), state);
    }
}
