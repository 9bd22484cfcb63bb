using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Reminders;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using Vehicles.Api.V1;
using Vehicles.Grains.Serialization;
using Vehicles.Grains.State;
using Vehicles.Storage;

namespace Vehicles.Grains.Tests;

/// <summary>
/// One Orleans silo (InProcessTestCluster) composed as the real silo composes it: <c>AddVehicleStorage</c> (SQLite in
/// a temp folder unless told otherwise), <c>AddVehicleGrains</c> and the protobuf codec, with a fake clock. Grains are
/// called through the cluster's client, so every argument and result crosses Orleans' serializer. A restart stops
/// the silo and starts another in the same cluster over the same <see cref="ClusterSettings"/>.
/// </summary>
public sealed class VehicleCluster : IAsyncDisposable
{
    private VehicleCluster(InProcessTestCluster cluster, ClusterSettings settings)
    {
        Cluster = cluster;
        Settings = settings;
    }

    public InProcessTestCluster Cluster { get; }

    public ClusterSettings Settings { get; }

    public FakeTimeProvider Time => Settings.Time;

    public IClusterClient Client => Cluster.Client;

    /// <summary>The services of the (one) running silo.</summary>
    public IServiceProvider Silo => Cluster.Silos[0].ServiceProvider;

    /// <summary>The silo's event bus (events are per silo).</summary>
    public IVehicleEventBus Events => Silo.GetRequiredService<IVehicleEventBus>();

    public IVehicleGrain Vehicle(string vin) => Client.GetGrain<IVehicleGrain>(vin);

    public IFleetGrain Fleet(string fleetId) => Client.GetGrain<IFleetGrain>(fleetId);

    public static async Task<VehicleCluster> StartAsync(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.Storage).Build();
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = settings.ServiceId;
        builder.Options.ClusterId = settings.ServiceId;
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddVehicleStorage(configuration);
            silo.Services.AddVehicleGrains(settings.ConfigureGrains);
            silo.Services.AddSerializer(serializer => serializer.AddProtobufMessages());
            silo.Services.AddSingleton<TimeProvider>(settings.Time);

            // Grain timers (checkpoints, presence, expiry, not_before) follow the fake clock; Orleans' own loops
            // (membership, messaging timeouts, activation collection, directory) stay on real time, or they would stall
            // until a test moves the clock.
            silo.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);

            // Reminders: LocalReminderService takes its clock from ReminderTimeProviderNames.Reminders, which the line
            // above would pin to real time. It computes a reminder's first tick as its clock's now + due time, and the
            // grain computes that due time from the grain clock (not_before - now), so on real time a reminder row
            // would start at a real instant that has nothing to do with the command's not_before, and its ticks (one a
            // minute) could not be driven by a test. Reminders therefore run on the fake clock too. Its initial read of
            // the table does not wait on the clock (StartInBackground); only the periodic list refresh does, which
            // matters only for rows written by other silos, and one silo runs here.
            silo.Services.AddKeyedSingleton<TimeProvider>(ReminderTimeProviderNames.Reminders, settings.Time);
            settings.ConfigureServices(silo.Services);
            if (settings.CollectionAge is { } age)
            {
                silo.Configure<GrainCollectionOptions>(options =>
                {
                    options.CollectionQuantum = TimeSpan.FromMilliseconds(age.TotalMilliseconds / 2);
                    options.CollectionAge = age;
                });
            }
        });
        builder.ConfigureClient(client => client.Services.AddSerializer(serializer => serializer.AddProtobufMessages()));
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
            return new VehicleCluster(cluster, settings);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the silo gracefully (activations deactivate and write what they hold).</summary>
    public Task StopSiloAsync() => Cluster.StopSiloAsync(Cluster.Silos[0]);

    /// <summary>Starts a silo again (after <see cref="StopSiloAsync"/>) and waits until the client reaches it.</summary>
    public async Task StartSiloAsync()
    {
        await Cluster.StartAdditionalSiloAsync();
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
                    return true;
                }
                catch (Exception ex) when (ex is OrleansException or TimeoutException)
                {
                    return false;
                }
            },
            "the client reaches the restarted silo");
    }

    /// <summary>A graceful stop of the silo, then a new one over the same storage.</summary>
    public async Task RestartSiloAsync()
    {
        await StopSiloAsync();
        await StartSiloAsync();
    }

    /// <summary>Opens a session for <paramref name="vin"/> with a new observer; keep the returned session referenced while it is open.</summary>
    public async Task<(TestSession Session, SessionGrant Grant)> ConnectAsync(string vin, string sessionId, string fleet = Build.Fleet, bool reattach = false)
    {
        var session = new TestSession(sessionId);
        session.Reference = Client.CreateObjectReference<IVehicleSessionObserver>(session);
        var grant = await Vehicle(vin).OpenSessionAsync(Build.Session(sessionId, fleet) with { Reattach = reattach }, session.Reference);
        return (session, grant);
    }

    /// <summary>The vehicle's state as stored (what a crash would leave), or <see langword="null"/> when there is no record.</summary>
    public async Task<VehicleGrainState?> ReadStoredVehicleAsync(string vin)
    {
        var state = new GrainState<VehicleGrainState>();
        await Storage.ReadStateAsync("vehicle", Vehicle(vin).GetGrainId(), state);
        return state.RecordExists ? state.State : null;
    }

    /// <summary>The fleet's state as stored, or <see langword="null"/> when there is no record.</summary>
    public async Task<FleetGrainState?> ReadStoredFleetAsync(string fleetId)
    {
        var state = new GrainState<FleetGrainState>();
        await Storage.ReadStateAsync("fleet", Fleet(fleetId).GetGrainId(), state);
        return state.RecordExists ? state.State : null;
    }

    /// <summary>The grain storage the vehicle grains use, as another writer would reach it.</summary>
    public IGrainStorage Storage => Silo.GetRequiredKeyedService<IGrainStorage>(GrainsServiceCollectionExtensions.StorageName);

    /// <summary>The silo's reminder table.</summary>
    public IReminderTable Reminders => Silo.GetRequiredService<IReminderTable>();

    /// <summary>The grain's reminder of that name as the reminder table holds it, or <see langword="null"/>.</summary>
    public async Task<ReminderEntry?> ReadReminderAsync(IAddressable grain, string name)
    {
        var rows = await Reminders.ReadRows(grain.GetGrainId());
        return rows.Reminders.SingleOrDefault(r => r.ReminderName == name);
    }

    /// <summary>Whether the grain has an activation on the silo now.</summary>
    public bool IsActive(IAddressable grain) => Cluster.TryGetGrainContext(grain.GetGrainId(), out _);

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
    }
}

/// <summary>What survives a restart: the clock, the storage location, the service id and the options.</summary>
public sealed class ClusterSettings : IDisposable
{
    private readonly string? _directory;

    private ClusterSettings(string? directory, Dictionary<string, string?> storage)
    {
        _directory = directory;
        Storage = storage;
    }

    /// <summary>A fixed start, so that times in assertions are readable.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));

    /// <summary>Storage keys include it: a silo of the same id over the same storage sees the state of the ones before.</summary>
    public string ServiceId { get; } = "grains-test-" + Guid.NewGuid().ToString("N");

    /// <summary>The configuration <c>AddVehicleStorage</c> reads.</summary>
    public Dictionary<string, string?> Storage { get; }

    /// <summary>The SQLite folder; <see langword="null"/> for PostgreSQL.</summary>
    public string? Directory => _directory;

    public Action<VehicleGrainOptions> ConfigureGrains { get; set; } = _ => { };

    /// <summary>Last word on the silo's services (a different geo index, for instance).</summary>
    public Action<IServiceCollection> ConfigureServices { get; set; } = _ => { };

    /// <summary>A short <see cref="GrainCollectionOptions.CollectionAge"/> for idle-collection tests; Orleans' default otherwise.</summary>
    public TimeSpan? CollectionAge { get; set; }

    public static ClusterSettings Sqlite()
    {
        var directory = Path.Combine(Path.GetTempPath(), "vehicles-grains-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        return new ClusterSettings(directory, new()
        {
            ["Storage:Provider"] = "Sqlite",
            ["Storage:DataDirectory"] = directory,
            ["Storage:BusyTimeout"] = "00:00:05",
            ["Storage:SyncEveryCommit"] = "false",
        });
    }

    public static ClusterSettings Postgres(string schema) => new(null, new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = TestServers.PostgresConnectionString,
        ["Storage:Schema"] = schema,
    });

    public void Dispose()
    {
        if (_directory is null)
        {
            return;
        }

        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
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

/// <summary>Small builders shared by the tests.</summary>
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

    public static SessionRequest Session(string sessionId, string fleet = Fleet) => new(sessionId, fleet, "fw-1", "sw-1", null);

    public static CommandRequest Command(string name = "lock_doors", string? key = null, TimeSpan? ttl = null, DateTimeOffset? notBefore = null, CommandParameters? parameters = null)
        => new(name, parameters, ttl, notBefore, key, "operator-1");
}

/// <summary>Polls a condition until a deadline: no fixed sleeps.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string because, int timeoutMs = 15_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!await condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail("Timed out waiting: " + because);
            }

            await Task.Delay(10);
        }
    }

    public static async Task<T> ReadAsync<T>(System.Threading.Channels.ChannelReader<T> reader, int timeoutMs = 15_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        return await reader.ReadAsync(cts.Token);
    }
}
