using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Vehicles.Grpc.Server;

/// <summary>Server-side wire helpers: request validation, status headers, metadata conversion, compression.</summary>
internal static class ServerProtocol
{
    public const string AcceptedEncodings = "identity,gzip";

    public static readonly StringValues ContentTypeValue = new(GrpcProtocol.ContentType);
    public static readonly StringValues GzipValue = new(GrpcProtocol.GzipEncoding);
    public static readonly StringValues AcceptedEncodingsValue = new(AcceptedEncodings);

    // grpc-status values for every code, so that a call allocates no string for its status.
    private static readonly StringValues[] _statusValues = CreateStatusValues();

    public static StringValues StatusValue(StatusCode code)
    {
        var index = (int)code;
        return (uint)index < (uint)_statusValues.Length
            ? _statusValues[index]
            : new StringValues(index.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Checks the transport and content type. Answers a non-gRPC request itself, as grpc-dotnet does:
    /// HTTP/1.x gets 426 Upgrade Required and a wrong content type 415, both with an INTERNAL status header
    /// so a gRPC client still reads a reason.
    /// </summary>
    public static bool TryValidateRequest(HttpContext httpContext)
    {
        var request = httpContext.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            WriteHttpError(
                httpContext,
                StatusCodes.Status426UpgradeRequired,
                $"Request protocol '{request.Protocol}' is not supported.");
            httpContext.Response.Headers.Upgrade = "HTTP/2";
            return false;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            WriteHttpError(
                httpContext,
                StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type '{request.ContentType}' is not supported.");
            return false;
        }

        return true;
    }

    private static void WriteHttpError(HttpContext httpContext, int httpStatus, string message)
    {
        var response = httpContext.Response;
        response.StatusCode = httpStatus;
        response.Headers[GrpcProtocol.StatusHeader] = StatusValue(StatusCode.Internal);
        response.Headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(message);
    }

    /// <summary>Writes a status (and extra metadata) into a header collection, for trailers or trailers-only.</summary>
    public static void WriteStatus(IHeaderDictionary headers, in Status status, Metadata? trailers1, Metadata? trailers2)
    {
        headers[GrpcProtocol.StatusHeader] = StatusValue(status.StatusCode);
        if (!string.IsNullOrEmpty(status.Detail))
        {
            headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(status.Detail);
        }

        AppendMetadata(headers, trailers1);
        AppendMetadata(headers, trailers2);
    }

    public static void AppendMetadata(IHeaderDictionary headers, Metadata? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return;
        }

        foreach (var entry in metadata)
        {
            if (IsReservedResponseKey(entry.Key))
            {
                continue;
            }

            var value = entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value;
            headers.Append(entry.Key, value);
        }
    }

    // The layer owns these; a handler's metadata must not override them.
    private static bool IsReservedResponseKey(string key) =>
        key is "content-type" or "te" or GrpcProtocol.StatusHeader or GrpcProtocol.MessageHeader or GrpcProtocol.EncodingHeader
            || key.StartsWith(':');

    /// <summary>
    /// Request headers that are not metadata: HTTP/2 pseudo-headers and the headers the protocol itself
    /// uses (the same set grpc-dotnet filters).
    /// </summary>
    public static bool IsReservedRequestKey(string key) =>
        key.StartsWith(':')
        || string.Equals(key, "content-type", StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, "te", StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, "host", StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, "accept-encoding", StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, GrpcProtocol.TimeoutHeader, StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, GrpcProtocol.EncodingHeader, StringComparison.OrdinalIgnoreCase)
        || string.Equals(key, GrpcProtocol.AcceptEncodingHeader, StringComparison.OrdinalIgnoreCase);

    public static Metadata ReadRequestMetadata(IHeaderDictionary headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers)
        {
            if (IsReservedRequestKey(header.Key))
            {
                continue;
            }

            var binary = Metadata.IsBinaryKey(header.Key);
            foreach (var value in header.Value)
            {
                if (value is null)
                {
                    continue;
                }

                if (binary)
                {
                    // Peers may send several -bin values in one header, comma-separated.
                    foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (TryDecodeBase64(part, out var bytes))
                        {
                            metadata.Add(header.Key, bytes);
                        }
                    }
                }
                else if (IsPrintableAscii(value))
                {
                    metadata.Add(header.Key, value);
                }
            }
        }

        return metadata;
    }

    private static bool IsPrintableAscii(string value)
    {
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Decodes base64 with or without padding, as the spec requires of receivers.</summary>
    public static bool TryDecodeBase64(string value, out byte[] bytes)
    {
        var padding = (4 - (value.Length % 4)) % 4;
        var padded = padding == 0 ? value : value + new string('=', padding);
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

    /// <summary>Inflates a gzip message, refusing to grow past <paramref name="limit"/> bytes.</summary>
    /// <returns>A pooled array holding the message in its first <c>length</c> bytes; return it to <see cref="ArrayPool{T}.Shared"/>.</returns>
    public static byte[] Decompress(in ReadOnlySequence<byte> compressed, int limit, out int length)
    {
        var input = compressed.ToArray();
        using var source = new MemoryStream(input, writable: false);
        using var gzip = new GZipStream(source, CompressionMode.Decompress);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(input.Length * 4, 256), Math.Max(limit, 1) + 1));
        length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, (long)limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = gzip.Read(buffer, length, buffer.Length - length);
                if (read == 0)
                {
                    return buffer;
                }

                length += read;
                if (length > limit)
                {
                    throw new RpcException(new Status(
                        StatusCode.ResourceExhausted,
                        $"Received message after decompression larger than max ({length} vs. {limit})."));
                }
            }
        }
        catch (InvalidDataException ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw new RpcException(new Status(StatusCode.Internal, "Failed to decompress request message.") { DebugException = ex });
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> message)
    {
        using var output = new MemoryStream(message.Length / 2 + 32);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(message);
        }

        return output.ToArray();
    }

    public static bool AcceptsGzip(StringValues acceptEncoding)
    {
        foreach (var value in acceptEncoding)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
            {
                if (string.Equals(part, GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static StringValues[] CreateStatusValues()
    {
        var values = new StringValues[17];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = new StringValues(i.ToString(CultureInfo.InvariantCulture));
        }

        return values;
    }
}
