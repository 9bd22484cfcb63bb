using System.Net.Security;
using Microsoft.Extensions.Logging;

namespace Vehicles.Grpc;

/// <summary>Options of a <see cref="GrpcChannel"/>, like <c>Grpc.Net.Client.GrpcChannelOptions</c>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>
    /// The largest response message accepted, in bytes, after decompression; a larger one fails the call with
    /// RESOURCE_EXHAUSTED. <see langword="null"/> means no limit. Default 4 MB.
    /// </summary>
    public int? MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>
    /// The largest request message sent, in bytes, before compression; a larger one fails the call with
    /// RESOURCE_EXHAUSTED. <see langword="null"/> (the default) means no limit.
    /// </summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// The compression of request messages: <see langword="null"/> (none, the default) or
    /// <see cref="GrpcProtocol.GzipEncoding"/>.
    /// </summary>
    public string? SendCompression { get; set; }

    /// <summary>
    /// The handler that sends requests, instead of the channel's own <see cref="System.Net.Http.SocketsHttpHandler"/>
    /// (tests, custom transports). It must speak HTTP/2. The options that configure the channel's own handler
    /// (keep-alive, idle timeout, certificate validation) then do not apply.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>Whether disposing the channel disposes <see cref="HttpHandler"/>. Default <see langword="false"/>.</summary>
    public bool DisposeHttpHandler { get; set; }

    /// <summary>Credentials applied to every call, such as a bearer token.</summary>
    public CallCredentials? Credentials { get; set; }

    /// <summary>
    /// Allows <see cref="Credentials"/> on an <c>http://</c> channel, where they travel in clear text. Off by
    /// default, as in grpc-dotnet; turn it on only on a trusted network or in tests.
    /// </summary>
    public bool UnsafeUseInsecureChannelCallCredentials { get; set; }

    /// <summary>Validates the server certificate of an <c>https://</c> channel; <see langword="null"/> uses the system's validation.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>
    /// How long a connection with active calls may be quiet before the client sends an HTTP/2 PING to check
    /// it. <see cref="Timeout.InfiniteTimeSpan"/> turns pings off. Default 60 seconds.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for a PING's answer before closing the connection. Default 30 seconds.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an unused connection stays open. Default <see cref="Timeout.InfiniteTimeSpan"/>, as in
    /// grpc-dotnet: a channel keeps its connection for the next call.
    /// </summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>How long to wait for a new connection (TCP and TLS). Default <see cref="Timeout.InfiniteTimeSpan"/>; deadlines still apply.</summary>
    public TimeSpan ConnectTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>Creates the channel's loggers; <see langword="null"/> logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock of deadlines. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }
}
