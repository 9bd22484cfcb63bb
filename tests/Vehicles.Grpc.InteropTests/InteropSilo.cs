using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Vehicles.Api.Security;
using Vehicles.Silo;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// A real silo in this process, as production composes it (<c>AddVehiclesSilo</c>, <c>MapVehiclesSilo</c>: Grpc.AspNetCore
/// with the API's interceptors, health checks and reflection) on 127.0.0.1 with a free port, SQLite in a temporary folder,
/// a fixed signing key and the real clock, plus a <see cref="CallProbe"/> innermost around the handlers.
/// </summary>
public sealed class InteropSilo : IAsyncDisposable
{
    private readonly string _dataDirectory;
    private WebApplication? _app;

    private InteropSilo(string dataDirectory)
    {
        _dataDirectory = dataDirectory;
    }

    public Uri Address { get; private set; } = null!;

    internal CallProbe Probe => Services.GetRequiredService<CallProbe>();

    internal PythonGrpcClient Python => new(Address);

    public IServiceProvider Services => (_app ?? throw new InvalidOperationException("The silo has stopped.")).Services;

    private TokenService Tokens => Services.GetRequiredService<TokenService>();

    /// <summary>Starts a silo; <paramref name="settings"/> adds to or overrides the test defaults (configuration keys as in appsettings.json).</summary>
    public static async Task<InteropSilo> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "vehicles-interop-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Grpc:Address"] = "127.0.0.1:0",
            ["Cluster:SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["Storage:Provider"] = "Sqlite",
            ["Storage:DataDirectory"] = dataDirectory,
            ["Storage:SyncEveryCommit"] = "false",
            ["Tokens:SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var silo = new InteropSilo(dataDirectory);
        try
        {
            await silo.StartAppAsync(all);
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }

        return silo;
    }

    /// <summary>A vehicle token for <paramref name="vin"/> in <paramref name="fleet"/>.</summary>
    public string VehicleToken(string vin, string fleet) => Tokens.MintVehicleToken(vin, fleet);

    /// <summary>An operator token for <paramref name="fleets"/> with <paramref name="role"/>.</summary>
    public string OperatorToken(OperatorRole role, params string[] fleets) => Tokens.MintOperatorToken("interop", fleets, role);

    /// <summary>Stops the silo as a host stops (ApplicationStopping first); calls still open see what a client of a stopping silo sees.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StopAsync(timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            await StopAsync();
            _app = null;
            await app.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a background flush; the temp folder is cleaned by the OS.
        }
    }

    private async Task StartAppAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development",
            ContentRootPath = _dataDirectory,
            ApplicationName = typeof(SiloHostingExtensions).Assembly.GetName().Name,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.AddVehiclesSilo();
        builder.Services.AddSingleton<CallProbe>();
        builder.Services.Configure<GrpcServiceOptions>(options => options.Interceptors.Add<CallProbe>());
        _app = builder.Build();
        _app.MapVehiclesSilo();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Address = new Uri(address);
    }

    /// <summary>A port free on 127.0.0.1 now, for the silo-to-silo listener (Orleans needs a fixed one).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A silo with the test defaults, shared by the test classes of <see cref="InteropTestGroup"/>.</summary>
public sealed class InteropSiloFixture : IAsyncLifetime
{
    private InteropSilo? _silo;

    public InteropSilo Silo => _silo ?? throw new InvalidOperationException("The silo has not started.");

    public async Task InitializeAsync() => _silo = await InteropSilo.StartAsync();

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }
    }
}

/// <summary>
/// A silo configured as an operator would for compression and a small message limit:
/// <c>Grpc:Service:ResponseCompressionAlgorithm = gzip</c>, <c>Grpc:Service:MaxReceiveMessageSize = </c><see cref="MaxReceiveMessageSize"/>.
/// </summary>
public sealed class CompressingSiloFixture : IAsyncLifetime
{
    public const int MaxReceiveMessageSize = 64 * 1024;

    private InteropSilo? _silo;

    public InteropSilo Silo => _silo ?? throw new InvalidOperationException("The silo has not started.");

    public async Task InitializeAsync() => _silo = await InteropSilo.StartAsync(new Dictionary<string, string?>
    {
        ["Grpc:Service:ResponseCompressionAlgorithm"] = "gzip",
        ["Grpc:Service:MaxReceiveMessageSize"] = MaxReceiveMessageSize.ToString(CultureInfo.InvariantCulture),
    });

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }
    }
}

/// <summary>The test classes that share one <see cref="InteropSiloFixture"/> (and one <see cref="CompressingSiloFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class InteropTestGroup : ICollectionFixture<InteropSiloFixture>, ICollectionFixture<CompressingSiloFixture>
{
    public const string Name = "python3-grpcio interop";
}
