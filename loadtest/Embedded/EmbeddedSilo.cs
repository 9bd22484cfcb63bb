using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vehicles.Silo;

namespace Vehicles.LoadTest;

/// <summary>
/// A silo started inside the load generator for a one-command demo or a test: the production composition
/// (<c>AddVehiclesSilo</c>, <c>MapVehiclesSilo</c>) on 127.0.0.1 with a free port (and a free Orleans silo port, so that
/// several can run at once on one machine), SQLite storage in a temporary folder, a fresh token signing key, and the
/// echo service for the baseline. Disposing it stops it and deletes the folder.
/// </summary>
public sealed class EmbeddedSilo : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmbeddedSilo(WebApplication app, Uri address, string dataDirectory, string signingKey)
    {
        _app = app;
        Address = address;
        DataDirectory = dataDirectory;
        SigningKey = signingKey;
    }

    /// <summary>The silo's address, such as <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address { get; }

    /// <summary>The temporary folder holding its storage.</summary>
    public string DataDirectory { get; }

    /// <summary>The token signing key it validates tokens with (base64).</summary>
    public string SigningKey { get; }

    /// <summary>The silo's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a silo and waits until it accepts connections.</summary>
    /// <param name="configure">Further configuration values (for example <c>Storage:Provider</c>), applied last.</param>
    /// <param name="cancellationToken">Stops waiting for the start.</param>
    public static async Task<EmbeddedSilo> StartAsync(
        IReadOnlyDictionary<string, string?>? configure = null, CancellationToken cancellationToken = default)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "vehicles-loadtest-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Grpc:Address"] = "127.0.0.1:0",
            ["Cluster:SiloPort"] = FreeLoopbackPort().ToString(CultureInfo.InvariantCulture),
            ["Storage:Provider"] = "Sqlite",
            ["Storage:DataDirectory"] = dataDirectory,
            ["Tokens:SigningKey"] = signingKey,
            // The generator's console belongs to the live view and the summary: the silo only speaks of problems.
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        };
        foreach (var (key, value) in configure ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        builder.AddVehiclesSilo();
        // One instance for every call, as the API's services are: nothing is constructed per echo stream.
        builder.Services.AddSingleton<EchoService>();
        var app = builder.Build();
        app.MapVehiclesSilo();
        app.MapGrpcService<EchoService>();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EmbeddedSilo(app, new Uri(address), dataDirectory, signingKey);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await _app.StopAsync(stop.Token);
        }

        await _app.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open is left for the system's temp cleaner.
        }
    }

    // Orleans' silo port is 11111 unless configured: one the system picks (released before Orleans binds it) lets several
    // embedded silos run at once.
    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
