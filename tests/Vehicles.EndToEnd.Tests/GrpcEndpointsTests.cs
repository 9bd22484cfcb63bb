using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Vehicles.Silo;

namespace Vehicles.EndToEnd.Tests;

/// <summary>
/// The silo's Kestrel endpoint configuration (<see cref="GrpcEndpointConfigurationExtensions"/>, section <c>Grpc</c>):
/// h2c without a certificate, TLS offering only h2 with a PFX or a PEM certificate, and the address format. Each server
/// is a bare host with Grpc.AspNetCore's health service, called with Grpc.Net.Client.
/// </summary>
public sealed class GrpcEndpointsTests
{
    private static readonly TimeSpan _callTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ConfigureGrpcEndpoints_WithoutCertificate_ServesH2c()
    {
        await using var server = await EndpointServer.StartAsync(new() { ["Grpc:Address"] = "127.0.0.1:0" });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + _callTimeout);

        Assert.Equal("http", server.Address.Scheme);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task ConfigureGrpcEndpoints_WithPfxCertificate_ServesTlsOfferingOnlyH2()
    {
        using var certificate = TestCertificates.CreateSelfSigned();
        var path = Path.Combine(Path.GetTempPath(), "vehicles-grpc-" + Guid.NewGuid().ToString("N") + ".pfx");
        await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pkcs12, "secret"));
        try
        {
            await using var server = await EndpointServer.StartAsync(new()
            {
                ["Grpc:Address"] = "127.0.0.1:0",
                ["Grpc:CertificatePath"] = path,
                ["Grpc:CertificatePassword"] = "secret",
            });
            using var channel = PinnedChannel(server.Address, certificate);
            using var http11 = new HttpClient(PinnedHandler(certificate));
            using var http11Request = new HttpRequestMessage(HttpMethod.Get, server.Address)
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };

            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + _callTimeout);
            var negotiated = await NegotiateAlpnAsync(server.Address, certificate, SslApplicationProtocol.Http11, SslApplicationProtocol.Http2);
            var http11Error = await Record.ExceptionAsync(() => http11.SendAsync(http11Request));

            Assert.Equal("https", server.Address.Scheme);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
            Assert.Equal(SslApplicationProtocol.Http2, negotiated);
            Assert.IsType<HttpRequestException>(http11Error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ConfigureGrpcEndpoints_WithPemCertificateAndKey_ServesTls()
    {
        using var certificate = TestCertificates.CreateSelfSigned();
        var directory = Directory.CreateTempSubdirectory("vehicles-grpc-pem-");
        var certificatePath = Path.Combine(directory.FullName, "server.crt");
        var keyPath = Path.Combine(directory.FullName, "server.key");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem());
        using (var key = certificate.GetECDsaPrivateKey()!)
        {
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        }

        try
        {
            await using var server = await EndpointServer.StartAsync(new()
            {
                ["Grpc:Address"] = "127.0.0.1:0",
                ["Grpc:CertificatePath"] = certificatePath,
                ["Grpc:CertificateKeyPath"] = keyPath,
            });
            using var channel = PinnedChannel(server.Address, certificate);

            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + _callTimeout);

            Assert.Equal("https", server.Address.Scheme);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("127.0.0.1:50051", "127.0.0.1", 50051)]
    [InlineData("[::1]:7000", "::1", 7000)]
    [InlineData("localhost:80", "localhost", 80)]
    [InlineData("*:5000", "*", 5000)]
    public void ParseAddress_WithValidAddress_SplitsHostAndPort(string address, string host, int port)
    {
        var parsed = GrpcEndpointConfigurationExtensions.ParseAddress(address);

        Assert.Equal((host, port), parsed);
    }

    [Theory]
    [InlineData("no-port")]
    [InlineData("example.com:80")]
    [InlineData("127.0.0.1:99999")]
    public void ParseAddress_WithInvalidAddress_Throws(string address)
    {
        Assert.Throws<FormatException>(() => GrpcEndpointConfigurationExtensions.ParseAddress(address));
    }

    private static SocketsHttpHandler PinnedHandler(X509Certificate2 certificate) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
        },
    };

    private static GrpcChannel PinnedChannel(Uri address, X509Certificate2 certificate) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = PinnedHandler(certificate) });

    /// <summary>A TLS handshake offering <paramref name="offered"/> in ALPN; returns the protocol the server chose.</summary>
    private static async Task<SslApplicationProtocol> NegotiateAlpnAsync(Uri address, X509Certificate2 certificate, params SslApplicationProtocol[] offered)
    {
        using var timeout = new CancellationTokenSource(_callTimeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [.. offered],
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
            },
            timeout.Token);
        return tls.NegotiatedApplicationProtocol;
    }

    /// <summary>A bare host listening as the <c>Grpc</c> section says, with the health service only.</summary>
    private sealed class EndpointServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private EndpointServer(WebApplication app, Uri address)
        {
            _app = app;
            Address = address;
        }

        public Uri Address { get; }

        public static async Task<EndpointServer> StartAsync(Dictionary<string, string?> settings)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.Logging.ClearProviders();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.ConfigureGrpcEndpoints(builder.Configuration.GetSection("Grpc"));
            builder.Services.AddGrpc();
            // With no check registered the overall status is UNKNOWN; one that always passes makes it SERVING.
            builder.Services.AddGrpcHealthChecks().AddCheck("up", () => HealthCheckResult.Healthy());
            var app = builder.Build();
            app.MapGrpcHealthChecksService();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new EndpointServer(app, new Uri(address));
        }

        public async ValueTask DisposeAsync()
        {
            using var timeout = new CancellationTokenSource(_callTimeout);
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
        }
    }
}
