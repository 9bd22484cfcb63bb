using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Vehicles.Grpc;

/// <summary>
/// Wire-level constants and helpers of the gRPC-over-HTTP/2 protocol
/// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md), shared by server and client.
/// </summary>
public static class GrpcProtocol
{
    /// <summary>The content type of gRPC requests and responses (protobuf encoding).</summary>
    public const string ContentType = "application/grpc";

    /// <summary>The length of a message frame header: one flag byte and a big-endian 32-bit length.</summary>
    public const int FrameHeaderLength = 5;

    /// <summary>The default largest message a peer accepts: 4 MB.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>Trailer carrying the status code.</summary>
    public const string StatusHeader = "grpc-status";

    /// <summary>Trailer carrying the percent-encoded status message.</summary>
    public const string MessageHeader = "grpc-message";

    /// <summary>Header carrying the call's timeout.</summary>
    public const string TimeoutHeader = "grpc-timeout";

    /// <summary>Header naming the compression of messages flagged compressed.</summary>
    public const string EncodingHeader = "grpc-encoding";

    /// <summary>Header listing the compressions a peer accepts.</summary>
    public const string AcceptEncodingHeader = "grpc-accept-encoding";

    /// <summary>The identity (no) compression.</summary>
    public const string IdentityEncoding = "identity";

    /// <summary>The gzip compression.</summary>
    public const string GzipEncoding = "gzip";

    /// <summary>Whether a content type is a gRPC one: <c>application/grpc</c> or <c>application/grpc+…</c> / <c>;…</c>.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        var next = contentType[ContentType.Length];
        return next is '+' or ';';
    }

    /// <summary>Writes a frame header.</summary>
    public static void WriteFrameHeader(Span<byte> destination, bool compressed, int length)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    /// <summary>Reads a frame header; the length may exceed <see cref="int.MaxValue"/> and is returned as is.</summary>
    /// <returns>The compressed flag byte (0 or 1 are valid) and the declared length.</returns>
    public static (byte Flag, uint Length) ReadFrameHeader(ReadOnlySpan<byte> source) =>
        (source[0], BinaryPrimitives.ReadUInt32BigEndian(source[1..]));

    /// <summary>
    /// Parses a <c>grpc-timeout</c> value: at most 8 ASCII digits followed by one unit of
    /// H (hours), M (minutes), S (seconds), m (milliseconds), u (microseconds) or n (nanoseconds).
    /// </summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9)
        {
            return false;
        }

        var digits = value.AsSpan(0, value.Length - 1);
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        var amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        long? ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * 10,
            'n' => amount / 100,
            _ => null,
        };
        if (ticks is null)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks.Value);
        return true;
    }

    /// <summary>Formats a timeout for <c>grpc-timeout</c>, in the finest unit that fits in 8 digits.</summary>
    public static string FormatTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return "1n";
        }

        const long MaxValue = 99_999_999;
        var ticks = timeout.Ticks;
        if (ticks <= MaxValue / 100)
        {
            return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "n";
        }

        (long TicksPerUnit, char Unit)[] units =
        [
            (10, 'u'),
            (TimeSpan.TicksPerMillisecond, 'm'),
            (TimeSpan.TicksPerSecond, 'S'),
            (TimeSpan.TicksPerMinute, 'M'),
            (TimeSpan.TicksPerHour, 'H'),
        ];
        foreach (var (ticksPerUnit, unit) in units)
        {
            // Round up so that the peer never sees a shorter deadline than ours.
            var amount = (ticks + ticksPerUnit - 1) / ticksPerUnit;
            if (amount <= MaxValue)
            {
                return amount.ToString(CultureInfo.InvariantCulture) + unit;
            }
        }

        return MaxValue.ToString(CultureInfo.InvariantCulture) + "H";
    }

    /// <summary>
    /// Percent-encodes a status message for <c>grpc-message</c>: UTF-8 bytes outside printable ASCII, and
    /// '%', become %XX.
    /// </summary>
    public static string EncodeMessage(string message)
    {
        var needsEncoding = false;
        foreach (var c in message)
        {
            if (c is < ' ' or > '~' or '%')
            {
                needsEncoding = true;
                break;
            }
        }

        if (!needsEncoding)
        {
            return message;
        }

        var builder = new StringBuilder(message.Length * 2);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is < (byte)' ' or > (byte)'~' or (byte)'%')
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append((char)b);
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes a percent-encoded <c>grpc-message</c>; malformed escapes are kept as they are.</summary>
    public static string DecodeMessage(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length
                && byte.TryParse(value.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else if (value[i] < 0x80)
            {
                bytes.Add((byte)value[i]);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(value[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
