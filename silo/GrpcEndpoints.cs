using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Vehicles.Silo;

/// <summary>
/// Where and how the server listens, usually bound from a configuration section such as <c>Grpc</c>:
/// <c>{ "Address": "0.0.0.0:50051", "CertificatePath": "server.pfx", "CertificatePassword": "..." }</c>.
/// </summary>
public sealed class GrpcEndpointOptions
{
    /// <summary>The default address: loopback only, port 50051.</summary>
    public const string DefaultAddress = "127.0.0.1:50051";

    /// <summary><c>host:port</c>, where host is an IP address, <c>localhost</c>, or <c>*</c> for every interface.</summary>
    public string Address { get; set; } = DefaultAddress;

    /// <summary>A PFX/PKCS#12 file, or a PEM certificate; without one the server speaks h2c (cleartext HTTP/2).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of a PFX file, or of an encrypted PEM key.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The PEM private key when it is not in <see cref="CertificatePath"/>.</summary>
    public string? CertificateKeyPath { get; set; }
}

/// <summary>Configures Kestrel endpoints for gRPC: HTTP/2 only, h2c without a certificate, TLS with ALPN h2 with one.</summary>
public static class GrpcEndpointConfigurationExtensions
{
    /// <summary>Listens as <paramref name="section"/> (<see cref="GrpcEndpointOptions"/>) says.</summary>
    public static IWebHostBuilder ConfigureGrpcEndpoints(this IWebHostBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        var options = new GrpcEndpointOptions();
        section.Bind(options);
        return builder.ConfigureGrpcEndpoints(options);
    }

    /// <summary>Listens as <paramref name="options"/> says.</summary>
    public static IWebHostBuilder ConfigureGrpcEndpoints(this IWebHostBuilder builder, GrpcEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var certificate = string.IsNullOrEmpty(options.CertificatePath) ? null : LoadCertificate(options);
        var (host, port) = ParseAddress(options.Address);
        return builder.ConfigureKestrel(kestrel =>
        {
            void Configure(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http2;
                if (certificate is not null)
                {
                    // With HTTP/2 as the only protocol, Kestrel offers only "h2" in ALPN.
                    listen.UseHttps(certificate);
                }
            }

            switch (host)
            {
                case "localhost":
                    kestrel.ListenLocalhost(port, Configure);
                    break;
                case "*" or "+":
                    kestrel.ListenAnyIP(port, Configure);
                    break;
                default:
                    kestrel.Listen(IPAddress.Parse(host), port, Configure);
                    break;
            }
        });
    }

    /// <summary>Splits <c>host:port</c> (IPv6 hosts in brackets).</summary>
    /// <exception cref="FormatException">The address is not of that form.</exception>
    public static (string Host, int Port) ParseAddress(string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"gRPC address '{address}' is not 'host:port'.");
        }

        var host = address[..colon].Trim('[', ']');
        if (host is not ("localhost" or "*" or "+") && !IPAddress.TryParse(host, out _))
        {
            throw new FormatException($"gRPC address '{address}' must name an IP address, 'localhost' or '*'.");
        }

        return (host, port);
    }

    private static X509Certificate2 LoadCertificate(GrpcEndpointOptions options)
    {
        var path = options.CertificatePath!;
        var extension = Path.GetExtension(path);
        if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        }

        var keyPath = options.CertificateKeyPath ?? path;
        using var pem = string.IsNullOrEmpty(options.CertificatePassword)
            ? X509Certificate2.CreateFromPemFile(path, keyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(path, options.CertificatePassword, keyPath);

        // A PEM-loaded key is ephemeral, which SslStream cannot use on every platform: re-import it.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }
}
