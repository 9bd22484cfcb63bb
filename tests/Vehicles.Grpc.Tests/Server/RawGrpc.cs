using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;

namespace Vehicles.Grpc.Tests.Server;

/// <summary>The parts of a gRPC response, read from raw HTTP/2.</summary>
internal sealed record RawResponse(
    HttpStatusCode HttpStatus,
    HttpResponseHeaders Headers,
    HttpResponseHeaders Trailers,
    string? ContentType,
    IReadOnlyList<(bool Compressed, byte[] Payload)> Messages,
    int? GrpcStatus,
    string? GrpcMessage,
    bool TrailersOnly)
{
    public T Message<T>(int index, MessageParser<T> parser) where T : IMessage<T>
    {
        var (compressed, payload) = Messages[index];
        return parser.ParseFrom(compressed ? RawGrpc.Gunzip(payload) : payload);
    }

    public string? Trailer(string name) =>
        (TrailersOnly ? Headers : Trailers).TryGetValues(name, out var values) ? string.Join(",", values) : null;
}

/// <summary>
/// Sends hand-made gRPC requests over HttpClient (HTTP/2 prior knowledge), independent of our gRPC client,
/// so that the server's handling of malformed input can be driven byte by byte.
/// </summary>
internal static class RawGrpc
{
    /// <summary>A client for h2c, or for TLS to a server presenting exactly <paramref name="trustedCertificate"/>.</summary>
    public static HttpClient CreateClient(X509Certificate2? trustedCertificate = null)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (trustedCertificate is not null)
        {
            var thumbprint = trustedCertificate.GetCertHashString();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString() == thumbprint;
        }

        return new HttpClient(handler)
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public static byte[] EchoFrames(params ReadOnlySpan<string> messages)
    {
        using var output = new MemoryStream();
        foreach (var message in messages)
        {
            output.Write(Frame(new Vehicles.Testing.V1.EchoRequest { Message = message }));
        }

        return output.ToArray();
    }

    public static byte[] Frame(IMessage message, bool compress = false) =>
        Frame(message.ToByteArray(), compress ? (byte)1 : (byte)0, compress);

    public static byte[] Frame(byte[] payload, byte flag = 0, bool compress = false)
    {
        var body = compress ? Gzip(payload) : payload;
        var frame = new byte[GrpcProtocol.FrameHeaderLength + body.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, GrpcProtocol.FrameHeaderLength);
        return frame;
    }

    public static HttpRequestMessage Request(Uri address, string path, byte[] body, string contentType = "application/grpc")
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    public static async Task<RawResponse> SendAsync(HttpClient client, HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return Read(response, body);
    }

    public static RawResponse Read(HttpResponseMessage response, byte[] body)
    {
        var messages = ParseFrames(body);
        var trailersOnly = response.Headers.Contains(GrpcProtocol.StatusHeader);
        var source = trailersOnly ? response.Headers : response.TrailingHeaders;
        int? status = source.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues)
            ? int.Parse(statusValues.Single(), System.Globalization.CultureInfo.InvariantCulture)
            : null;
        var message = source.TryGetValues(GrpcProtocol.MessageHeader, out var messageValues)
            ? GrpcProtocol.DecodeMessage(messageValues.Single())
            : null;
        return new RawResponse(
            response.StatusCode,
            response.Headers,
            response.TrailingHeaders,
            response.Content.Headers.ContentType?.ToString(),
            messages,
            status,
            message,
            trailersOnly);
    }

    public static List<(bool Compressed, byte[] Payload)> ParseFrames(ReadOnlySpan<byte> body)
    {
        var frames = new List<(bool, byte[])>();
        var offset = 0;
        while (offset < body.Length)
        {
            if (body.Length - offset < GrpcProtocol.FrameHeaderLength
                || body.Length - offset - GrpcProtocol.FrameHeaderLength < BinaryPrimitives.ReadUInt32BigEndian(body[(offset + 1)..]))
            {
                throw new InvalidDataException("Malformed response body: " + Convert.ToHexString(body));
            }

            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body[(offset + 1)..]);
            frames.Add((body[offset] == 1, body.Slice(offset + GrpcProtocol.FrameHeaderLength, length).ToArray()));
            offset += GrpcProtocol.FrameHeaderLength + length;
        }

        return frames;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] Gunzip(byte[] data)
    {
        using var input = new MemoryStream(data);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Reads one whole frame from a response stream; null at the end of the stream.</summary>
    public static async Task<byte[]?> ReadFrameAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[GrpcProtocol.FrameHeaderLength];
        if (!await ReadExactlyOrEndAsync(stream, header, cancellationToken))
        {
            return null;
        }

        var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
        if (!await ReadExactlyOrEndAsync(stream, payload, cancellationToken))
        {
            throw new InvalidDataException("The response ended inside a frame.");
        }

        return payload;
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                return read == 0 ? false : throw new InvalidDataException("The response ended inside a frame.");
            }

            read += n;
        }

        return true;
    }
}

/// <summary>Polls a condition until it holds or a deadline passes; no fixed sleeps.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + what + ".");
            }

            await Task.Delay(5);
        }
    }
}
