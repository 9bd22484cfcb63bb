using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Vehicles.Api.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Vehicles.EndToEnd.Tests;

/// <summary>A silo given a certificate (<c>Grpc:CertificatePath</c>) serves TLS with ALPN h2 to Grpc.Net.Client, and nothing in cleartext.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vehicles-e2e-tls-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("pfx")]
    [InlineData("pem")]
    public async Task Silo_WithACertificate_ServesTlsOnly(string format)
    {
        using var certificate = TestCertificates.CreateSelfSigned();
        await using var silo = await TestSilo.StartAsync(CertificateSettings(certificate, format));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString() == certificate.GetCertHashString();
        using var tls = GrpcChannel.ForAddress(silo.Address, new GrpcChannelOptions { HttpHandler = handler });
        using var cleartext = GrpcChannel.ForAddress(new UriBuilder(silo.Address) { Scheme = "http" }.Uri);

        var health = await new Health.HealthClient(tls).CheckAsync(new HealthCheckRequest(), TestSilo.With(null));
        var listed = await new ApiClient(tls.CreateCallInvoker(), silo.OperatorToken("fleet-a")).ListVehiclesAsync(new ListVehiclesRequest());
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Health.HealthClient(cleartext).CheckAsync(new HealthCheckRequest(), TestSilo.With(null, TimeSpan.FromSeconds(5))));

        Assert.Equal("https", silo.Address.Scheme);
        Assert.Equal(ServingStatus.Serving, health.Status);
        Assert.Empty(listed.Vehicles);
        // The client fails on the TLS bytes it gets back: as UNAVAILABLE (connection error) or INTERNAL (HTTP/2
        // protocol error), depending on when it notices; never with an answer.
        Assert.Contains(refused.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
    }

    private Dictionary<string, string?> CertificateSettings(X509Certificate2 certificate, string format)
    {
        if (format == "pfx")
        {
            var pfx = Path.Combine(_folder, "server.pfx");
            File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12, "secret"));
            return new() { ["Grpc:CertificatePath"] = pfx, ["Grpc:CertificatePassword"] = "secret" };
        }

        var pem = Path.Combine(_folder, "server.crt");
        var key = Path.Combine(_folder, "server.key");
        File.WriteAllText(pem, certificate.ExportCertificatePem());
        using var privateKey = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(key, privateKey.ExportPkcs8PrivateKeyPem());
        return new() { ["Grpc:CertificatePath"] = pem, ["Grpc:CertificateKeyPath"] = key };
    }
}
