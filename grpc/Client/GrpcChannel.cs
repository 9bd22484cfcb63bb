using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Vehicles.Grpc;

/// <summary>
/// A connection to a gRPC server, like <c>Grpc.Net.Client.GrpcChannel</c>: one <see cref="HttpClient"/> over
/// HTTP/2 whose connections every call shares (multiplexed streams, new connections only when the server's
/// stream limit is reached). <c>http://</c> addresses use cleartext HTTP/2 (h2c, prior knowledge);
/// <c>https://</c> addresses use TLS with ALPN <c>h2</c>. Create one per server and reuse it; it is thread-safe.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly ConcurrentDictionary<string, Uri> _methodUris = new(StringComparer.Ordinal);
    private readonly CallInvoker _callInvoker;
    private readonly CancellationTokenSource _disposing = new();
    private readonly CancellationToken _disposingToken;
    private int _disposed;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"Address '{address}' must use http:// or https://.", nameof(address));
        }

        if (options.SendCompression is not null and not GrpcProtocol.GzipEncoding)
        {
            throw new ArgumentException($"Send compression '{options.SendCompression}' is not supported; use null or 'gzip'.", nameof(options));
        }

        IsSecure = address.Scheme == Uri.UriSchemeHttps;
        if (options.Credentials is not null && !IsSecure && !options.UnsafeUseInsecureChannelCallCredentials)
        {
            throw new InvalidOperationException(
                "Call credentials on an insecure (http://) channel would send secrets in clear text; set UnsafeUseInsecureChannelCallCredentials to allow it.");
        }

        _disposingToken = _disposing.Token;
        Address = address;
        MaxReceiveMessageSize = options.MaxReceiveMessageSize;
        MaxSendMessageSize = options.MaxSendMessageSize;
        SendCompression = options.SendCompression;
        Credentials = options.Credentials;
        TimeProvider = options.TimeProvider ?? TimeProvider.System;
        Logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<GrpcChannel>();

        HttpClient = options.HttpHandler is { } handler
            ? new HttpClient(handler, options.DisposeHttpHandler)
            : new HttpClient(CreateHandler(options), disposeHandler: true);

        HttpClient.Timeout = Timeout.InfiniteTimeSpan;
        HttpClient.DefaultRequestVersion = HttpVersion.Version20;
        HttpClient.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        _callInvoker = new HttpClientCallInvoker(this);
    }

    /// <summary>The server's address.</summary>
    public Uri Address { get; }

    /// <summary>The server's authority (<c>host:port</c>).</summary>
    public string Target => Address.Authority;

    internal bool IsSecure { get; }

    internal HttpClient HttpClient { get; }

    internal int? MaxReceiveMessageSize { get; }

    internal int? MaxSendMessageSize { get; }

    internal string? SendCompression { get; }

    internal CallCredentials? Credentials { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILogger Logger { get; }

    internal static MediaTypeHeaderValue GrpcContentType { get; } = new(GrpcProtocol.ContentType);

    internal static ProductInfoHeaderValue UserAgent { get; } = new("vehicles-grpc", "1.0");

    /// <summary>Creates a channel to a server.</summary>
    /// <param name="address">An absolute <c>http://</c> or <c>https://</c> address, such as <c>http://127.0.0.1:5000</c>.</param>
    /// <param name="options">Options; <see langword="null"/> for the defaults.</param>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        return ForAddress(new Uri(address, UriKind.Absolute), options);
    }

    /// <summary>Creates a channel to a server.</summary>
    /// <param name="address">An absolute <c>http://</c> or <c>https://</c> address.</param>
    /// <param name="options">Options; <see langword="null"/> for the defaults.</param>
    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new GrpcChannel(address, options ?? new GrpcChannelOptions());
    }

    /// <summary>The invoker that sends calls over this channel.</summary>
    public CallInvoker CreateCallInvoker()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _callInvoker;
    }

    /// <summary>Ends the calls in progress with CANCELLED and closes the channel's connections.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Calls end with a clear status before the client they use goes away under them.
        _disposing.Cancel();
        _disposing.Dispose();

        HttpClient.Dispose();
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Cancelled when the channel is disposed: calls in progress end with CANCELLED.</summary>
    internal CancellationToken Disposing => _disposingToken;

    internal Uri GetMethodUri(string fullName) =>
        _methodUris.GetOrAdd(fullName, static (path, address) => new Uri(address, address.AbsolutePath.TrimEnd('/') + path), Address);

    private static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // One connection carries up to the server's stream limit (100 on Kestrel by default); past it the
            // handler opens more instead of queueing calls.
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = options.PooledConnectionIdleTimeout,
            ConnectTimeout = options.ConnectTimeout,
            // gRPC compresses per message; HTTP content decompression and cookies have no place here, and a proxy
            // would break cleartext HTTP/2.
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        if (options.ServerCertificateValidation is { } validation)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = validation;
        }

        return handler;
    }
}
