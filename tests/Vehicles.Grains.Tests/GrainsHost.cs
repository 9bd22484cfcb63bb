using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vehicles.Actors;
using Vehicles.Api.V1;
using Vehicles.Grains.State;
using Vehicles.Persistence;

namespace Vehicles.Grains.Tests;

/// <summary>
/// The actor runtime with the vehicle grains, real grain storage (SQLite in a temp folder unless told otherwise) and a
/// fake clock, started the way a silo starts it (hosted services in order). Restart by disposing one host and starting
/// another on the same <see cref="HostSettings"/>.
/// </summary>
public sealed class GrainsHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _started = [];

    private GrainsHost(ServiceProvider services, HostSettings settings)
    {
        _services = services;
        Settings = settings;
    }

    public HostSettings Settings { get; }

    public FakeTimeProvider Time => Settings.Time;

    public IGrainFactory Grains => _services.GetRequiredService<IGrainFactory>();

    public ActorRuntime Runtime => _services.GetRequiredService<ActorRuntime>();

    public IVehicleSessionDirectory Sessions => _services.GetRequiredService<IVehicleSessionDirectory>();

    public IVehicleEventBus Events => _services.GetRequiredService<IVehicleEventBus>();

    public IGrainStorage Storage => _services.GetRequiredService<IGrainStorage>();

    public IVehicleGrain Vehicle(string vin) => Grains.GetGrain<IVehicleGrain>(vin);

    public static async Task<GrainsHost> StartAsync(HostSettings settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(settings.Time);
        services.AddGrainStorage(settings.ConfigureStorage);
        services.AddActors(settings.ConfigureActors);
        services.AddVehicleGrains(settings.ConfigureGrains);
        settings.ConfigureServices(services);
        var host = new GrainsHost(services.BuildServiceProvider(), settings);
        foreach (var hosted in host._services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
            host._started.Add(hosted);
        }

        return host;
    }

    /// <summary>Reads the vehicle's state as stored: what a crash would leave.</summary>
    public async Task<VehicleGrainState?> ReadStoredVehicleAsync(string vin)
    {
        var stored = await Storage.ReadAsync("vehicle/vehicle", vin, CancellationToken.None);
        return stored is null ? null : VehicleGrainState.Parser.ParseFrom(stored.Data.Span);
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
    }
}

/// <summary>What survives a restart: the clock, the storage location and the options.</summary>
public sealed class HostSettings : IDisposable
{
    private readonly string? _directory;

    private HostSettings(string? directory, Action<GrainStorageOptions> storage)
    {
        _directory = directory;
        ConfigureStorage = storage;
    }

    public FakeTimeProvider Time { get; } = new();

    public Action<GrainStorageOptions> ConfigureStorage { get; }

    public Action<VehicleGrainOptions> ConfigureGrains { get; set; } = _ => { };

    public Action<ActorsOptions> ConfigureActors { get; set; } = o => o.CollectionAge = TimeSpan.FromHours(1);

    /// <summary>Last word on the services (a placement director and transport, for instance).</summary>
    public Action<IServiceCollection> ConfigureServices { get; set; } = _ => { };

    public static HostSettings Sqlite()
    {
        var directory = Path.Combine(Path.GetTempPath(), "vehicles-grains-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return new HostSettings(directory, o =>
        {
            o.Provider = StorageProvider.Sqlite;
            o.DataDirectory = directory;
            o.SyncEveryCommit = false;
        });
    }

    public static HostSettings Postgres(string schema) => new(null, o =>
    {
        o.Provider = StorageProvider.PostgreSql;
        o.ConnectionString = TestServers.PostgresConnectionString;
        o.Schema = schema;
    });

    public void Dispose()
    {
        if (_directory is null)
        {
            return;
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the test for it is not.
        }
    }
}

/// <summary>Where the server-backed tests find their servers; a missing setting fails the test rather than skipping it.</summary>
internal static class TestServers
{
    public const string PostgresVariable = "VEHICLES_TEST_POSTGRES";

    public static string PostgresConnectionString =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{PostgresVariable} is not set: start the test servers (scripts/servers.sh start) and export the settings it prints.");
}

/// <summary>Small builders and waits shared by the tests.</summary>
internal static class Build
{
    public const string Vin = "1HGCM82633A004352";
    public const string Fleet = "fleet-a";

    public static StatusReport Report(ulong sequence, DateTimeOffset captured, Action<Signals> signals)
    {
        var values = new Signals();
        signals(values);
        return new StatusReport { Sequence = sequence, CaptureTime = Timestamp.FromDateTimeOffset(captured), Signals = values };
    }

    public static SessionRequest Session(string sessionId, string fleet = Fleet) => new(sessionId, fleet, "fw-1", "sw-1", null, "local");

    public static CommandRequest Command(string name = "lock_doors", string? key = null, TimeSpan? ttl = null, DateTimeOffset? notBefore = null, CommandParameters? parameters = null)
        => new(name, parameters, ttl, notBefore, key, "operator-1");
}

/// <summary>Polls a condition until a deadline: no fixed sleeps.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string because, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!await condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail("Timed out waiting: " + because);
            }

            await Task.Delay(5);
        }
    }

    public static async Task<T> ReadAsync<T>(System.Threading.Channels.ChannelReader<T> reader, int timeoutMs = 10_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        return await reader.ReadAsync(cts.Token);
    }
}
