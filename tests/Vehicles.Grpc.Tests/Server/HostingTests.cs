using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vehicles.Grpc.Health;
using Vehicles.Grpc.Server;
using Vehicles.Grpc.Testing;
using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Server;

public sealed class HostingTests
{
    [Fact]
    public async Task GracefulShutdown_EndsStreamWithUnavailable_WhileUnaryCallCompletes()
    {
        var time = new FakeTimeProvider();
        var server = await TestServer.StartAsync(o => o.TimeProvider = time);
        await using var _ = server;
        using var client = RawGrpc.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var streamRequest = RawGrpc.Request(server.Address, TestServer.Methods.ServerStream, RawGrpc.Frame(new StreamRequest { Count = 1000, DelayMs = 1000 }));
        using var stream = await client.SendAsync(streamRequest, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var streamBody = await stream.Content.ReadAsStreamAsync(cts.Token);
        Assert.NotNull(await RawGrpc.ReadFrameAsync(streamBody, cts.Token));
        var unary = RawGrpc.SendAsync(client, RawGrpc.Request(server.Address, TestServer.Methods.Echo, RawGrpc.Frame(new EchoRequest { Message = "in flight", DelayMs = 5000 })), cts.Token);
        await Eventually.TrueAsync(() => time.PendingTimers >= 2, "the stream and the unary call both wait on the clock");

        var stop = server.StopAsync(cts.Token);
        var frames = 0;
        while (await RawGrpc.ReadFrameAsync(streamBody, cts.Token) is not null && frames < 1000)
        {
            frames++;
        }

        var streamStatus = stream.TrailingHeaders.GetValues("grpc-status").Single();
        var unaryDoneBeforeClockMoved = unary.IsCompleted;
        time.Advance(TimeSpan.FromSeconds(5));
        var unaryResponse = await unary;
        await stop;

        Assert.Equal(0, frames);
        Assert.Equal("14", streamStatus);
        Assert.Equal("Server shutting down.", GrpcProtocol.DecodeMessage(stream.TrailingHeaders.GetValues("grpc-message").Single()));
        Assert.False(unaryDoneBeforeClockMoved);
        Assert.Equal(0, unaryResponse.GrpcStatus);
        Assert.Equal("in flight", unaryResponse.Message(0, EchoReply.Parser).Message);
    }

    [Fact]
    public async Task Tls_WithSelfSignedCertificate_ServesOverAlpnH2()
    {
        using var certificate = TestCertificates.CreateSelfSigned();
        await using var server = await TestServer.StartAsync(o => o.Certificate = certificate);
        using var client = RawGrpc.CreateClient(certificate);

        var response = await RawGrpc.SendAsync(client, RawGrpc.Request(server.Address, TestServer.Methods.Echo, RawGrpc.Frame(new EchoRequest { Message = "secure" })));

        Assert.Equal("https", server.Address.Scheme);
        Assert.Equal(0, response.GrpcStatus);
        Assert.Equal("secure", response.Message(0, EchoReply.Parser).Message);
    }

    private static async Task<(WebApplication App, Uri Address)> StartFromConfigurationAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.ConfigureGrpcEndpoints(builder.Configuration.GetSection("Grpc"));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcHealthChecks();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new Uri(address));
    }

    [Fact]
    public async Task ConfigureGrpcEndpoints_WithoutCertificate_ServesH2c()
    {
        var (app, address) = await StartFromConfigurationAsync(new() { ["Grpc:Address"] = "127.0.0.1:0" });
        await using var _ = app;
        using var client = RawGrpc.CreateClient();

        var response = await RawGrpc.SendAsync(client, RawGrpc.Request(address, "/grpc.health.v1.Health/Check", RawGrpc.Frame(new global::Grpc.Health.V1.HealthCheckRequest())));

        Assert.Equal("http", address.Scheme);
        Assert.Equal(0, response.GrpcStatus);
    }

    [Fact]
    public async Task ConfigureGrpcEndpoints_WithPfxCertificate_ServesTlsHttp2Only()
    {
        using var certificate = TestCertificates.CreateSelfSigned();
        var path = Path.Combine(Path.GetTempPath(), "vehicles-grpc-" + Guid.NewGuid().ToString("N") + ".pfx");
        await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pkcs12, "secret"));
        try
        {
            var (app, address) = await StartFromConfigurationAsync(new()
            {
                ["Grpc:Address"] = "127.0.0.1:0",
                ["Grpc:CertificatePath"] = path,
                ["Grpc:CertificatePassword"] = "secret",
            });
            await using var _ = app;
            using var client = RawGrpc.CreateClient(certificate);
            var http11 = RawGrpc.Request(address, "/grpc.health.v1.Health/Check", RawGrpc.Frame(new global::Grpc.Health.V1.HealthCheckRequest()));
            http11.Version = HttpVersion.Version11;

            var response = await RawGrpc.SendAsync(client, RawGrpc.Request(address, "/grpc.health.v1.Health/Check", RawGrpc.Frame(new global::Grpc.Health.V1.HealthCheckRequest())));
            var http11Error = await Record.ExceptionAsync(() => client.SendAsync(http11));

            Assert.Equal("https", address.Scheme);
            Assert.Equal(0, response.GrpcStatus);
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
            var (app, address) = await StartFromConfigurationAsync(new()
            {
                ["Grpc:Address"] = "127.0.0.1:0",
                ["Grpc:CertificatePath"] = certificatePath,
                ["Grpc:CertificateKeyPath"] = keyPath,
            });
            await using var _ = app;
            using var client = RawGrpc.CreateClient(certificate);

            var response = await RawGrpc.SendAsync(client, RawGrpc.Request(address, "/grpc.health.v1.Health/Check", RawGrpc.Frame(new global::Grpc.Health.V1.HealthCheckRequest())));

            Assert.Equal("https", address.Scheme);
            Assert.Equal(0, response.GrpcStatus);
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
}
