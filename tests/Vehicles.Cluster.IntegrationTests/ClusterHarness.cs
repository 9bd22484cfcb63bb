using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Npgsql;
using StackExchange.Redis;
using Vehicles.Api.Security;
using Vehicles.Api.Validation;
using Vehicles.Api.V1;
using ApiSiloStatus = Vehicles.Api.V1.SiloStatus;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>
/// A cluster of silo processes on 127.0.0.1 sharing one PostgreSQL schema (grain state, reminders and Orleans'
/// membership tables), one cluster id, one Redis key prefix and one token signing key, all unique to the harness; each
/// silo has its own gRPC and silo-to-silo port. Disposing it kills what still runs and drops the schema and keys; silo logs are kept only when VEHICLES_ITEST_KEEP_LOGS is set (failure messages carry their tails).
/// </summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    /// <summary>The fleet every test vehicle belongs to.</summary>
    public const string Fleet = "fleet-itest";

    private static readonly TimeSpan _startTimeout = TimeSpan.FromSeconds(45);
    private static readonly Lock _portsLock = new();
    private static readonly HashSet<int> _portsHandedOut = [];

    private readonly Lock _lock = new();
    private readonly List<SiloProcess> _silos = [];
    private readonly ITestOutputHelper? _output;
    private readonly string _directory;
    private readonly string _siloDll;
    private readonly string _schema;
    private readonly string _clusterId;
    private readonly string _redisPrefix;
    private readonly string _signingKey;
    private readonly string _vinDescriptor;

    private ClusterHarness(bool clustered, bool embedded, ITestOutputHelper? output)
    {
        Clustered = clustered;
        Embedded = embedded;
        _output = output;
        var id = Guid.NewGuid().ToString("N")[..8];
        _schema = "itest_" + id;
        _clusterId = "itest-" + id;
        _redisPrefix = "itest-" + id;
        _signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(TokenOptions.MinKeyBytes));
        _directory = Path.Combine(Path.GetTempPath(), "vehicles-itest-" + id);
        Directory.CreateDirectory(_directory);
        _siloDll = Path.Combine(AppContext.BaseDirectory, "Vehicles.Silo.dll");
        if (!File.Exists(_siloDll))
        {
            throw new InvalidOperationException(_siloDll + " is missing: the test project's reference to silo/Vehicles.Silo.csproj puts it there.");
        }

        // Random VIN characters per harness: runs never share a vehicle even if a schema were reused.
        var alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ";
        _vinDescriptor = string.Concat(Enumerable.Range(0, 5).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]));
        Tokens = new TokenService(new TokenOptions { SigningKey = _signingKey }, TimeProvider.System);
    }

    /// <summary>Where the silo logs and data folders are.</summary>
    public string LogDirectory => _directory;

    /// <summary>Whether the silos run with Cluster:Enabled (false: single silos, each on its own).</summary>
    public bool Clustered { get; }

    /// <summary>Settings added to every silo launched from now on (for example <c>Cluster__Tls__Certificate</c>).</summary>
    public Dictionary<string, string> ExtraEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Starts one more silo without waiting for anything (a silo that is not expected to join).</summary>
    public SiloProcess LaunchUnwatched() => Launch();

    /// <summary>Whether the silos run on the embedded default: SQLite in their data folder, no Redis, no cluster.</summary>
    public bool Embedded { get; }

    /// <summary>Mints tokens the silos accept: same key, issuer and audience.</summary>
    public TokenService Tokens { get; }

    /// <summary>Every silo started, in start order, whatever became of it.</summary>
    public IReadOnlyList<SiloProcess> Silos
    {
        get
        {
            lock (_lock)
            {
                return [.. _silos];
            }
        }
    }

    /// <summary>Silos neither leaving nor gone.</summary>
    public IReadOnlyList<SiloProcess> Running => [.. Silos.Where(s => s.State == SiloState.Running && !s.HasExited)];

    /// <summary>A harness; fails at once when the test servers are not configured.</summary>
    public static ClusterHarness Create(ITestOutputHelper? output, bool clustered = true)
    {
        _ = TestServers.Postgres;
        _ = TestServers.Redis;
        return new ClusterHarness(clustered, embedded: false, output);
    }

    /// <summary>A harness of single silos on the embedded default (SQLite, no server needed).</summary>
    public static ClusterHarness CreateEmbedded(ITestOutputHelper? output) => new(clustered: false, embedded: true, output);

    /// <summary>Starts a new process on the data folder of <paramref name="previous"/> (after it stopped or was killed), and waits until it serves.</summary>
    public async Task<SiloProcess> RestartOnSameDataAsync(SiloProcess previous)
    {
        var silo = Launch(previous.Index);
        await silo.WaitUntilServingAsync(_startTimeout);
        return silo;
    }

    /// <summary>Starts <paramref name="count"/> silos at once and waits until each serves and (clustered) all see each other active.</summary>
    public async Task<IReadOnlyList<SiloProcess>> StartSilosAsync(int count)
    {
        var silos = Enumerable.Range(0, count).Select(_ => Launch()).ToList();
        await Task.WhenAll(silos.Select(s => s.WaitUntilServingAsync(_startTimeout)));
        await WaitForActiveMembersAsync(Running.Count, _startTimeout);
        return silos;
    }

    /// <summary>Starts one more silo (a join) and waits until it serves and every running silo lists it active.</summary>
    public async Task<SiloProcess> StartSiloAsync()
    {
        var silo = Launch();
        await silo.WaitUntilServingAsync(_startTimeout);
        await WaitForActiveMembersAsync(Running.Count, _startTimeout);
        return silo;
    }

    /// <summary>Waits until every running silo lists exactly <paramref name="expected"/> active silos (ClusterAdmin/ListSilos).</summary>
    public async Task WaitForActiveMembersAsync(int expected, TimeSpan timeout)
    {
        if (!Clustered)
        {
            return; // Single silos know no cluster: serving health is all the readiness there is.
        }

        var admin = OperatorToken(OperatorRole.Admin);
        var last = "";
        var converged = await Poll.UntilAsync(
            async () =>
            {
                var views = new List<string>();
                var agreed = true;
                foreach (var silo in Running)
                {
                    try
                    {
                        var response = await new ApiClient(silo.Invoker, admin).ListSilosAsync(new ListSilosRequest(), TimeSpan.FromSeconds(2));
                        var active = response.Silos.Count(s => s.Status == ApiSiloStatus.Active);
                        agreed &= active == expected;
                        views.Add(silo.Name + " sees " + active + " active");
                    }
                    catch (RpcException ex)
                    {
                        agreed = false;
                        views.Add(silo.Name + ": " + ex.StatusCode + " " + ex.Status.Detail);
                    }
                }

                last = string.Join("; ", views);
                return agreed;
            },
            timeout,
            TimeSpan.FromMilliseconds(200));
        if (!converged)
        {
            throw new TimeoutException("membership did not converge on " + expected + " active silos within " + timeout + ": " + last + Environment.NewLine + LogTails());
        }
    }

    /// <summary>
    /// Polls ListSilos on every running silo until each lists <paramref name="target"/> with <paramref name="status"/>.
    /// </summary>
    /// <returns>The time from <paramref name="since"/> (a Stopwatch timestamp) until all agreed, or null after <paramref name="timeout"/>.</returns>
    public async Task<TimeSpan?> WaitForStatusAsync(SiloProcess target, ApiSiloStatus status, long since, TimeSpan timeout)
    {
        var admin = OperatorToken(OperatorRole.Admin);
        var agreed = await Poll.UntilAsync(
            async () =>
            {
                foreach (var silo in Running)
                {
                    try
                    {
                        var response = await new ApiClient(silo.Invoker, admin).ListSilosAsync(new ListSilosRequest { IncludeDead = true }, TimeSpan.FromSeconds(2));
                        if (!response.Silos.Any(s => s.Endpoint == target.Endpoint && s.Status == status))
                        {
                            return false;
                        }
                    }
                    catch (RpcException)
                    {
                        return false;
                    }
                }

                return true;
            },
            timeout,
            TimeSpan.FromMilliseconds(50));
        return agreed ? System.Diagnostics.Stopwatch.GetElapsedTime(since) : null;
    }

    /// <summary>A valid VIN (check digit included), unique to this harness.</summary>
    public string Vin(int n)
    {
        var serial = n.ToString("D6", CultureInfo.InvariantCulture);
        var vin = ("5CL" + _vinDescriptor + "0RA" + serial).ToCharArray();
        vin[VinCheckDigit.Position] = VinCheckDigit.Compute(vin);
        return new string(vin);
    }

    /// <summary>An operator token for <see cref="Fleet"/>.</summary>
    public string OperatorToken(OperatorRole role = OperatorRole.Operator) => Tokens.MintOperatorToken("itest", [Fleet], role);

    /// <summary>A vehicle token of <see cref="Fleet"/>.</summary>
    public string VehicleToken(string vin) => Tokens.MintVehicleToken(vin, Fleet);

    /// <summary>The log tails of every silo, for failure messages.</summary>
    public string LogTails(int lines = 40)
    {
        var text = new StringBuilder();
        foreach (var silo in Silos)
        {
            text.AppendLine(silo.LogTail(lines));
        }

        return text.ToString();
    }

    /// <summary>Kills what still runs, drops the schema and Redis keys (not embedded), deletes the logs and data (unless kept).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Silos)
        {
            await silo.DisposeAsync();
        }

        var keepLogs = Environment.GetEnvironmentVariable("VEHICLES_ITEST_KEEP_LOGS") is { Length: > 0 };
        _output?.WriteLine(keepLogs ? "silo logs kept in " + _directory : "silo logs in " + _directory + " deleted (set VEHICLES_ITEST_KEEP_LOGS=1 to keep them)");
        var cleanup = new List<string>();
        if (!Embedded)
        {
            try
            {
                await using var connection = new NpgsqlConnection(TestServers.Postgres);
                await connection.OpenAsync();
                // The name is made here from a GUID; no user input reaches this statement.
#pragma warning disable CA2100
                await using var drop = new NpgsqlCommand("DROP SCHEMA IF EXISTS " + _schema + " CASCADE", connection);
#pragma warning restore CA2100
                await drop.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException ex)
            {
                cleanup.Add("dropping the schema: " + ex.Message);
            }

            try
            {
                using var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis + ",abortConnect=false,connectTimeout=3000");

                // One server-side script (KEYS is fine on a test Redis).
                await redis.GetDatabase().ScriptEvaluateAsync(
                    "local n = 0 for _, key in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', key) n = n + 1 end return n",
                    values: [_redisPrefix + "*"]);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                cleanup.Add("deleting Redis keys: " + ex.Message);
            }
        }

        if (!keepLogs)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException ex)
            {
                cleanup.Add("deleting " + _directory + ": " + ex.Message);
            }
        }

        foreach (var problem in cleanup)
        {
            _output?.WriteLine("cleanup: " + problem);
        }
    }

    private SiloProcess Launch(int? dataOf = null)
    {
        int index;
        lock (_lock)
        {
            index = _silos.Count;
        }

        var endpoint = "127.0.0.1:" + FreePort().ToString(CultureInfo.InvariantCulture);
        var siloPort = FreePort();
        var dataDirectory = Path.Combine(_directory, "silo" + (dataOf ?? index));
        Directory.CreateDirectory(dataDirectory);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Grpc__Address"] = endpoint,
            ["Storage__Provider"] = "PostgreSql",
            ["Storage__ConnectionString"] = TestServers.Postgres,
            ["Storage__Schema"] = _schema,
            ["Storage__DataDirectory"] = dataDirectory,
            ["Cluster__Enabled"] = Clustered ? "true" : "false",
            ["Cluster__ClusterId"] = _clusterId,

            // Every silo on one host needs its own silo-to-silo port (also the single silo's localhost clustering);
            // no Orleans gateway: clients use gRPC only.
            ["Cluster__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["Cluster__GatewayPort"] = "0",
            ["Cluster__AdvertisedAddress"] = "127.0.0.1",
            ["Cluster__Redis"] = TestServers.Redis,
            ["Cluster__RedisKeyPrefix"] = _redisPrefix,
            ["Tokens__SigningKey"] = _signingKey,
            ["Vehicles__CheckpointInterval"] = "00:00:01",
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
            ["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        foreach (var (key, value) in ExtraEnvironment)
        {
            environment[key] = value;
        }

        if (Embedded)
        {
            environment["Storage__Provider"] = "Sqlite";
            environment.Remove("Storage__ConnectionString");
            environment.Remove("Cluster__Redis");
        }

        var silo = SiloProcess.Start(index, _siloDll, endpoint, environment, Path.Combine(_directory, "silo" + index + ".log"));
        lock (_lock)
        {
            _silos.Add(silo);
        }

        _output?.WriteLine(Now() + " started " + silo.Name + ", pid " + silo.ProcessId);
        return silo;
    }

    internal static string Now() => DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>
    /// A port nobody listens on now. The silo must advertise its real port to the cluster, so port 0 will not do;
    /// ports already handed out are never handed out again, so silos started together cannot collide.
    /// </summary>
    private static int FreePort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (_portsLock)
            {
                if (_portsHandedOut.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("no free port in 100 attempts");
    }
}
