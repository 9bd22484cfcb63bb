using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.Security;
using Vehicles.Grpc;
using Vehicles.Silo;

namespace Vehicles.EndToEnd.Tests;

/// <summary>
/// A real silo in this process: the production composition (<c>AddVehiclesSilo</c>, <c>MapVehiclesSilo</c>) on
/// 127.0.0.1 with a free port, a temporary data folder and a fake clock. <see cref="RestartAsync"/> stops it and starts
/// a new one on the same data, as after a process restart.
/// </summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _settings;
    private readonly string _dataDirectory;
    private readonly bool _ownsDataDirectory;
    private WebApplication? _app;
    private GrpcChannel? _channel;

    private TestSilo(Dictionary<string, string?> settings, string dataDirectory, bool ownsDataDirectory, FakeTimeProvider clock)
    {
        _settings = settings;
        _dataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Clock = clock;
    }

    /// <summary>The silo's clock: grains, tokens, validation, rate limits and timers all run on it.</summary>
    public FakeTimeProvider Clock { get; }

    public Uri Address { get; private set; } = null!;

    public CallInvoker Invoker => _channel!.CreateCallInvoker();

    public TokenService Tokens => _app!.Services.GetRequiredService<TokenService>();

    public IServiceProvider Services => _app!.Services;

    /// <summary>Starts a silo on SQLite in a new temporary folder, or with the given extra settings (PostgreSQL).</summary>
    public static async Task<TestSilo> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "vehicles-e2e-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Grpc:Address"] = "127.0.0.1:0",
            ["Cluster:SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Storage:Provider"] = "Sqlite",
            ["Storage:DataDirectory"] = dataDirectory,
            ["Storage:SyncEveryCommit"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",

            // Tests move the clock by minutes at once; heartbeats are not what they test.
            ["Vehicles:HeartbeatTimeout"] = "1.00:00:00",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        // Whole seconds: protobuf timestamps and JWT times round-trip exactly.
        var silo = new TestSilo(all, dataDirectory, ownsDataDirectory: true, new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero)));
        await silo.StartAppAsync();
        return silo;
    }

    /// <summary>Stops the silo (deactivating every grain) and starts another on the same data and clock.</summary>
    public async Task RestartAsync()
    {
        await StopAppAsync();
        await StartAppAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAppAsync();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a background flush; the temp folder is cleaned by the OS.
            }
        }
    }

    /// <summary>Call options carrying the token and a deadline (every test call has one, so a hang fails instead of hanging).</summary>
    public static CallOptions With(string? token, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add("authorization", "Bearer " + token);
        }

        return new CallOptions(headers, DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20)), cancellationToken);
    }

    public string OperatorToken(string fleet, OperatorRole role = OperatorRole.Operator, TimeSpan? lifetime = null) =>
        Tokens.MintOperatorToken("alice", [fleet], role, lifetime);

    public string VehicleToken(string vin, string fleet, TimeSpan? lifetime = null) => Tokens.MintVehicleToken(vin, fleet, lifetime);

    public FleetOperatorClient Operator(string token) => new(Invoker, token);

    public async Task<SimulatedVehicle> ConnectAsync(string vin, string fleet, ulong lastSentSequence = 0)
    {
        var vehicle = new SimulatedVehicle(Invoker, vin, VehicleToken(vin, fleet), Clock);
        await vehicle.ConnectAsync(lastSentSequence);
        return vehicle;
    }

    private async Task StartAppAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development",
            ContentRootPath = _dataDirectory,
            ApplicationName = typeof(TokenCommand).Assembly.GetName().Name,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(_settings);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(Clock);

        // Grains (timers, reminders' view of now) run on the fake clock; Orleans' own loops (membership, messaging
        // timeouts, activation collection) on real time, or they would stall until a test moves the clock.
        builder.Services.AddKeyedSingleton<TimeProvider>(KeyedService.AnyKey, TimeProvider.System);
        builder.Services.AddKeyedSingleton<TimeProvider>(Orleans.Runtime.TimeProviderNames.Grains, (provider, _) => provider.GetRequiredService<TimeProvider>());
        builder.AddVehiclesSilo();
        _app = builder.Build();
        _app.MapVehiclesSilo();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Address = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        _channel = GrpcChannel.ForAddress(Address);
    }

    /// <summary>A port free on 127.0.0.1 now, for the silo-to-silo listener (Orleans needs a fixed one).</summary>
    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StopAppAsync()
    {
        _channel?.Dispose();
        _channel = null;
        if (_app is { } app)
        {
            _app = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await app.StopAsync(timeout.Token);
            await app.DisposeAsync();
        }
    }
}
