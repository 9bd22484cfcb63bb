using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace Vehicles.Silo;

/// <summary>
/// Mutual TLS between silos (Microsoft.Orleans.Connections.Security) when <c>Cluster:Tls:Certificate</c> names a PKCS#12
/// file: every silo presents that certificate and accepts a peer only if it presents one with the same public key,
/// so only holders of the cluster's private key can join or call. Without it, silo-to-silo traffic is unauthenticated
/// and the silo port belongs on a private network.
/// </summary>
internal static class ClusterTls
{
    /// <summary>Turns on mutual TLS when a certificate is configured.</summary>
    public static ISiloBuilder UseClusterTls(this ISiloBuilder silo, IConfiguration configuration)
    {
        var path = configuration["Cluster:Tls:Certificate"];
        if (string.IsNullOrWhiteSpace(path))
        {
            return silo;
        }

        var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, configuration["Cluster:Tls:Password"]);
        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"Cluster:Tls:Certificate ({path}) holds no private key.");
        }

        var publicKey = certificate.GetPublicKey();
        return silo.UseTls(certificate, options =>
        {
            options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
            options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
            options.RemoteCertificateValidation = (remote, _, _) => remote is not null && remote.GetPublicKey().AsSpan().SequenceEqual(publicKey);
        });
    }
}
