using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Vehicles.Api.Security;
using Vehicles.Grpc;

namespace Vehicles.LoadTest;

/// <summary>
/// Connections and credentials to the Vehicles API for one scenario: a channel per group of
/// <see cref="ApiSettings.ShareConnections"/> vehicles (one TCP connection each, as real vehicles have), one for the
/// operators, and the tokens to call with. Against a loopback target, connections are spread over several source
/// addresses (127.0.0.1 to 127.0.0.8) so that tens of thousands of them do not exhaust one address's ephemeral ports.
/// With several targets (<see cref="ApiSettings.Targets"/>, the silos of a cluster) vehicle connections go round-robin
/// over them (connection group <c>g</c> to target <c>g mod n</c>) and so do operator calls, one call after the other.
/// </summary>
public sealed class ApiConnection : IDisposable
{
    private const int LoopbackSourceAddresses = 8;

    private readonly ConcurrentDictionary<int, GrpcChannel> _channels = new();
    private readonly TokenService? _tokens;
    private readonly string? _vehicleToken;
    private readonly Uri[] _targets;
    private readonly Lazy<GrpcChannel>[] _operatorChannels;
    private long _operatorCalls = -1;

    /// <summary>Creates the connection from the scenario's settings.</summary>
    /// <exception cref="ArgumentException">No target, or neither tokens nor a signing key.</exception>
    public ApiConnection(Uri target, string? vehicleToken, ApiSettings settings)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(settings);
        Address = target;
        _targets = settings.Targets is { Count: > 0 } targets ? [.. targets] : [target];
        ShareConnections = settings.ShareConnections;
        _vehicleToken = vehicleToken;
        if (!string.IsNullOrEmpty(settings.SigningKey))
        {
            _tokens = new TokenService(new TokenOptions { SigningKey = settings.SigningKey }, TimeProvider.System);
            OperatorToken = settings.OperatorToken ?? _tokens.MintOperatorToken("loadtest", ["*"], OperatorRole.Admin);
        }
        else
        {
            OperatorToken = settings.OperatorToken;
        }

        _operatorChannels = [.. _targets.Select(t => new Lazy<GrpcChannel>(() => CreateChannel(t, -1)))];
    }

    /// <summary>The API's address (the first target).</summary>
    public Uri Address { get; }

    /// <summary>Every target, in the order vehicles and operator calls are spread over them.</summary>
    public IReadOnlyList<Uri> Targets => _targets;

    /// <summary>Vehicles per connection.</summary>
    public int ShareConnections { get; }

    /// <summary>The operators' bearer token, when there is one.</summary>
    public string? OperatorToken { get; }

    /// <summary>Connections opened for vehicles so far.</summary>
    public int VehicleChannels => _channels.Count;

    /// <summary>Creates the connection a scenario's context describes.</summary>
    /// <exception cref="ArgumentException">The context has no target.</exception>
    public static ApiConnection FromContext(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var target = context.Target
            ?? throw new ArgumentException($"Scenario '{context.ScenarioName}' needs --target <url> (or --embedded).");
        return new ApiConnection(target, context.Token, context.Api);
    }

    /// <summary>The bearer token of vehicle <paramref name="vin"/> in fleet <paramref name="fleetId"/>.</summary>
    /// <exception cref="InvalidOperationException">There is neither a signing key nor a vehicle token.</exception>
    public string VehicleToken(string vin, string fleetId) =>
        _tokens?.MintVehicleToken(vin, fleetId)
        ?? _vehicleToken
        ?? throw new InvalidOperationException("Vehicle scenarios need --signing-key (or --token with a vehicle token).");

    /// <summary>Headers carrying <paramref name="token"/>.</summary>
    public static Metadata Bearer(string? token) =>
        token is null ? [] : new Metadata().Add("authorization", "Bearer " + token);

    /// <summary>The operators' call headers.</summary>
    /// <exception cref="InvalidOperationException">There is no operator token.</exception>
    public Metadata OperatorHeaders() => Bearer(OperatorToken
        ?? throw new InvalidOperationException("Operator calls need --operator-token or --signing-key."));

    /// <summary>The target vehicle number <paramref name="vehicleIndex"/> connects to: its connection group's, round-robin.</summary>
    public Uri TargetOfVehicle(int vehicleIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vehicleIndex);
        return _targets[vehicleIndex / ShareConnections % _targets.Length];
    }

    /// <summary>The invoker of vehicle number <paramref name="vehicleIndex"/>'s connection.</summary>
    public CallInvoker ForVehicle(int vehicleIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vehicleIndex);
        var group = vehicleIndex / ShareConnections;
        return _channels.GetOrAdd(group, g => CreateChannel(_targets[g % _targets.Length], g)).CreateCallInvoker();
    }

    /// <summary>The target the next operator call goes to: the targets in turn.</summary>
    public Uri NextOperatorTarget() => _targets[NextOperatorIndex()];

    /// <summary>The invoker for one operator call (or stream): each call takes the next target's shared connection.</summary>
    public CallInvoker ForOperators() => _operatorChannels[NextOperatorIndex()].Value.CreateCallInvoker();

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        _channels.Clear();
        foreach (var channel in _operatorChannels.Where(c => c.IsValueCreated))
        {
            channel.Value.Dispose();
        }
    }

    private int NextOperatorIndex() =>
        _targets.Length == 1 ? 0 : (int)((ulong)Interlocked.Increment(ref _operatorCalls) % (ulong)_targets.Length);

    private static GrpcChannel CreateChannel(Uri target, int group)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        var loopback = IPAddress.TryParse(target.Host, out var host) && IPAddress.IsLoopback(host) && host.AddressFamily == AddressFamily.InterNetwork;
        if (loopback && group >= 0)
        {
            var source = new IPAddress([127, 0, 0, (byte)(1 + (group % LoopbackSourceAddresses))]);
            handler.ConnectCallback = (context, cancellationToken) => ConnectFromAsync(source, context.DnsEndPoint, cancellationToken);
        }

        return GrpcChannel.ForAddress(target, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpHandler = true });
    }

    private static async ValueTask<Stream> ConnectFromAsync(IPAddress source, DnsEndPoint target, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(target, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
