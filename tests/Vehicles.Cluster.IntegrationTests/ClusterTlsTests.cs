using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using SiloStatus = Vehicles.Api.V1.SiloStatus;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>
/// Mutual TLS between silos (<c>Cluster:Tls:Certificate</c>): silos holding the cluster's certificate form a cluster
/// and serve, and a silo presenting another certificate, though it has the database, never becomes a member the
/// others list as active.
/// </summary>
[Collection(ClusterCollectionDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class ClusterTlsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ClusterHarness _cluster = ClusterHarness.Create(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task SilosWithTheClusterCertificate_Join_AndAStrangerIsNeverActive()
    {
        _cluster.ExtraEnvironment["Cluster__Tls__Certificate"] = WriteCertificate("cluster");
        var silos = await _cluster.StartSilosAsync(2);
        var api = new ApiClient(silos[1].Invoker, _cluster.OperatorToken(OperatorRole.Admin));
        Assert.Equal(2, (await api.ListSilosAsync(new ListSilosRequest())).Silos.Count(s => s.Status == SiloStatus.Active));

        _cluster.ExtraEnvironment["Cluster__Tls__Certificate"] = WriteCertificate("stranger");
        var stranger = _cluster.LaunchUnwatched();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        var sawStranger = false;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var silo in silos)
            {
                var listed = await new ApiClient(silo.Invoker, _cluster.OperatorToken(OperatorRole.Admin))
                    .ListSilosAsync(new ListSilosRequest { IncludeDead = true });
                sawStranger |= listed.Silos.Any(s => s.Endpoint == stranger.Endpoint);
                Assert.DoesNotContain(listed.Silos, s => s.Endpoint == stranger.Endpoint && s.Status == SiloStatus.Active);
                Assert.Equal(2, listed.Silos.Count(s => s.Status == SiloStatus.Active));
            }

            await Task.Delay(250);
        }

        output.WriteLine("the stranger " + (sawStranger ? "registered in the table but was never active" : "never registered") + "; the two members stayed active");
        var vin = _cluster.Vin(1);
        var report = await new ApiClient(silos[0].Invoker, _cluster.VehicleToken(vin)).ReportAsync(new ReportRequest
        {
            Vin = vin,
            Status = new StatusReport { Sequence = 1, CaptureTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow), Signals = new Signals { Speed = 1 } },
        });
        Assert.Equal(1UL, report.Ack.Sequence);
    }

    private string WriteCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=vehicles-" + name, key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(_cluster.LogDirectory, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12));
        return path;
    }
}
