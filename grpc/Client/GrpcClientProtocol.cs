using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Vehicles.Grpc;

/// <summary>Client-side wire helpers: statuses from responses and errors, metadata to and from headers, frames.</summary>
internal static class GrpcClientProtocol
{
    public const string AcceptEncodingValue = "identity,gzip";

    /// <summary>The status a response's headers or trailers carry, if they carry <c>grpc-status</c>.</summary>
    public static bool TryGetStatus(HttpHeaders headers, out Status status)
    {
        var nonValidated = headers.NonValidated;
        if (!nonValidated.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues))
        {
            status = default;
            return false;
        }

        var detail = nonValidated.TryGetValues(GrpcProtocol.MessageHeader, out var messageValues)
            ? GrpcProtocol.DecodeMessage(First(messageValues))
            : string.Empty;
        var text = First(statusValues);
        status = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 0 and <= 16
            ? new Status((StatusCode)code, detail)
            : new Status(StatusCode.Unknown, $"Unexpected grpc-status value '{text}'. {detail}".TrimEnd());
        return true;
    }

    /// <summary>The value of a header, or <see langword="null"/>.</summary>
    public static string? GetHeader(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? First(values) : null;

    /// <summary>Response headers or trailers as metadata, without the protocol's own headers.</summary>
    public static Metadata ToMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var (name, values) in headers.NonValidated)
        {
            if (IsReservedHeader(name))
            {
                continue;
            }

            foreach (var value in values)
            {
                // A header this side cannot represent (bad key or value) is left out rather than failing the call.
                if (Metadata.IsBinaryKey(name))
                {
                    if (TryDecodeBase64(value, out var bytes))
                    {
                        TryAdd(metadata, name, bytes);
                    }
                }
                else
                {
                    TryAdd(metadata, name, value);
                }
            }
        }

        return metadata;
    }

    /// <summary>Adds call metadata to request headers; binary values are base64-encoded.</summary>
    public static void AddHeaders(HttpRequestHeaders headers, Metadata metadata)
    {
        foreach (var entry in metadata)
        {
            var value = entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value;
            if (!headers.TryAddWithoutValidation(entry.Key, value))
            {
                throw new RpcException(new Status(StatusCode.Internal, $"Metadata key '{entry.Key}' cannot be sent as a request header."));
            }
        }
    }

    /// <summary>
    /// The status of a non-200 HTTP response without <c>grpc-status</c>, per
    /// https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md.
    /// </summary>
    public static StatusCode FromHttpStatus(HttpStatusCode statusCode) => statusCode switch
    {
        HttpStatusCode.BadRequest => StatusCode.Internal,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
        HttpStatusCode.NotFound => StatusCode.Unimplemented,
        HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
            => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>
    /// The status of a call that failed with an exception: its own status for an <see cref="RpcException"/>;
    /// for HTTP/2 RST_STREAM, the spec's mapping of error codes; UNAVAILABLE for connection failures, as
    /// grpc-dotnet does; INTERNAL otherwise.
    /// </summary>
    public static Status FromException(string summary, Exception exception)
    {
        if (exception is RpcException rpcException)
        {
            return rpcException.Status;
        }

        var code = StatusCode.Internal;
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is HttpProtocolException protocolException)
            {
                code = FromHttp2ErrorCode(protocolException.ErrorCode);
                break;
            }

            if (current is HttpRequestException or SocketException or IOException)
            {
                code = StatusCode.Unavailable;
            }
        }

        if (code == StatusCode.Internal && exception is OperationCanceledException)
        {
            code = StatusCode.Cancelled;
        }

        return new Status(code, $"{summary} {exception.GetType().Name}: {exception.Message}") { DebugException = exception };
    }

    /// <summary>Frames a request message: header, then the message, gzip-compressed when asked.</summary>
    /// <exception cref="RpcException">RESOURCE_EXHAUSTED: the message is larger than <paramref name="maxSize"/>.</exception>
    public static RequestFrame WriteFrame<T>(Marshaller<T> marshaller, T message, int? maxSize, string? compression, bool pooled)
    {
        var size = marshaller.CalculateSize(message);
        if (size > maxSize)
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"Sending message exceeds the maximum configured message size: {size} > {maxSize} bytes."));
        }

        if (compression is null)
        {
            var length = GrpcProtocol.FrameHeaderLength + size;
            var buffer = pooled ? ArrayPool<byte>.Shared.Rent(length) : new byte[length];
            GrpcProtocol.WriteFrameHeader(buffer, compressed: false, size);
            marshaller.Write(message, buffer.AsSpan(GrpcProtocol.FrameHeaderLength, size));
            return new RequestFrame(buffer, length, pooled);
        }

        var raw = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            marshaller.Write(message, raw.AsSpan(0, size));
            var output = new MemoryStream(GrpcProtocol.FrameHeaderLength + (size / 2) + 32);
            output.Position = GrpcProtocol.FrameHeaderLength;
            using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(raw, 0, size);
            }

            var buffer = output.GetBuffer();
            var length = (int)output.Length;
            GrpcProtocol.WriteFrameHeader(buffer, compressed: true, length - GrpcProtocol.FrameHeaderLength);
            return new RequestFrame(buffer, length, Pooled: false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>
    /// Decompresses a gzip message into a pooled buffer, stopping as soon as it grows past
    /// <paramref name="maxSize"/> so that a small bomb cannot take memory.
    /// </summary>
    /// <returns>A buffer from <see cref="ArrayPool{T}.Shared"/>, to be returned, and the message length.</returns>
    public static (byte[] Buffer, int Length) Gunzip(byte[] source, int length, int maxSize)
    {
        using var input = new MemoryStream(source, 0, length, writable: false);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        var output = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(length * 4L, 256L, Math.Max(256L, maxSize + 1L)));
        var total = 0;
        try
        {
            while (true)
            {
                if (total == output.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(output.Length * 2L, Array.MaxLength));
                    output.AsSpan(0, total).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(output);
                    output = grown;
                }

                var read = gzip.Read(output, total, output.Length - total);
                if (read == 0)
                {
                    return (output, total);
                }

                total += read;
                if (total > maxSize)
                {
                    throw new RpcException(new Status(
                        StatusCode.ResourceExhausted,
                        $"Received message exceeds the maximum configured message size: more than {maxSize} bytes once decompressed."));
                }
            }
        }
        catch (Exception exception)
        {
            ArrayPool<byte>.Shared.Return(output);
            if (exception is InvalidDataException)
            {
                throw new RpcException(new Status(StatusCode.Internal, "Failed to decompress a response message.") { DebugException = exception });
            }

            throw;
        }
    }

    private static StatusCode FromHttp2ErrorCode(long errorCode) => errorCode switch
    {
        0x7 => StatusCode.Unavailable,        // REFUSED_STREAM: the server did not process it; safe to retry.
        0x8 => StatusCode.Cancelled,          // CANCEL
        0xb => StatusCode.ResourceExhausted,  // ENHANCE_YOUR_CALM
        0xc => StatusCode.PermissionDenied,   // INADEQUATE_SECURITY
        _ => StatusCode.Internal,
    };

    private static bool IsReservedHeader(string name) =>
        name.Equals(GrpcProtocol.StatusHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals(GrpcProtocol.MessageHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals(GrpcProtocol.EncodingHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals(GrpcProtocol.AcceptEncodingHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-type", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith(':');

    private static void TryAdd(Metadata metadata, string name, string value)
    {
        try
        {
            metadata.Add(name, value);
        }
        catch (ArgumentException)
        {
        }
    }

    private static void TryAdd(Metadata metadata, string name, byte[] value)
    {
        try
        {
            metadata.Add(name, value);
        }
        catch (ArgumentException)
        {
        }
    }

    private static bool TryDecodeBase64(string value, out byte[] bytes)
    {
        // Peers may leave out the padding (the spec allows it); Convert wants it.
        var padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        try
        {
            bytes = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    private static string First(HeaderStringValues values)
    {
        foreach (var value in values)
        {
            return value;
        }

        return string.Empty;
    }
}

/// <summary>A framed request message; <see cref="Return"/> gives a pooled buffer back.</summary>
internal readonly record struct RequestFrame(byte[] Buffer, int Length, bool Pooled)
{
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    public void Return()
    {
        if (Pooled)
        {
            ArrayPool<byte>.Shared.Return(Buffer);
        }
    }
}
