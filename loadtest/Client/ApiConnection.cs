using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// Connections and credentials to the Vehicles API for one scenario: a <see cref="GrpcChannel"/> per group of
/// <see cref="ApiSettings.ShareConnections"/> vehicles (one TCP connection each, as real vehicles have), one for the
/// operators, and the tokens to call with. Against a loopback target, connections are spread over several source
/// addresses (127.0.0.1 to 127.0.0.8) so that tens of thousands of them do not exhaust one address's ephemeral ports.
/// With several targets (<see cref="ApiSettings.Targets"/>, the silos of a cluster) vehicle connections go round-robin
/// over them (connection group <c>g</c> to target <c>g mod n</c>) and so do operator calls, one call after the other.
/// Each connection's generated clients are made once and shared by every call over it.
/// </summary>
public sealed class ApiConnection : IDisposable
{
    private const int LoopbackSourceAddresses = 8;

    private readonly ConcurrentDictionary<int, Lazy<Connection>> _vehicleConnections = new();
    private readonly TokenService? _tokens;
    private readonly string? _vehicleToken;
    private readonly Metadata? _operatorHeaders;
    private readonly Uri[] _targets;
    private readonly Lazy<Connection>[] _operatorConnections;
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

        // Made once: every operator call sends the same headers (the client only reads them).
        _operatorHeaders = OperatorToken is null ? null : Bearer(OperatorToken);
        _operatorConnections = [.. _targets.Select(t => new Lazy<Connection>(() => new Connection(CreateChannel(t, -1))))];
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
    public int VehicleChannels => _vehicleConnections.Count;

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

    /// <summary>Headers carrying <paramref name="token"/> (none without one).</summary>
    public static Metadata Bearer(string? token) =>
        token is null ? [] : new Metadata { { "authorization", "Bearer " + token } };

    /// <summary>The operators' call headers, shared by every operator call: do not change them.</summary>
    /// <exception cref="InvalidOperationException">There is no operator token.</exception>
    public Metadata OperatorHeaders() =>
        _operatorHeaders ?? throw new InvalidOperationException("Operator calls need --operator-token or --signing-key.");

    /// <summary>The target vehicle number <paramref name="vehicleIndex"/> connects to: its connection group's, round-robin.</summary>
    public Uri TargetOfVehicle(int vehicleIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vehicleIndex);
        return _targets[vehicleIndex / ShareConnections % _targets.Length];
    }

    /// <summary>The VehicleLink client of vehicle number <paramref name="vehicleIndex"/>'s connection.</summary>
    public VehicleLink.VehicleLinkClient ForVehicle(int vehicleIndex) => VehicleConnection(vehicleIndex).VehicleLink;

    /// <summary>The test service client of echo stream number <paramref name="streamIndex"/>'s connection, laid out as vehicles' are.</summary>
    internal TestService.TestServiceClient ForEchoStream(int streamIndex) => VehicleConnection(streamIndex).Echo;

    /// <summary>The target the next operator call goes to: the targets in turn.</summary>
    public Uri NextOperatorTarget() => _targets[NextOperatorIndex()];

    /// <summary>The client for one operator call (or stream): each call takes the next target's shared connection.</summary>
    public FleetOperator.FleetOperatorClient ForOperators() => _operatorConnections[NextOperatorIndex()].Value.FleetOperator;

    /// <summary>Closes every connection; calls still in progress end with CANCELLED.</summary>
    public void Dispose()
    {
        foreach (var connection in _vehicleConnections.Values.Where(c => c.IsValueCreated))
        {
            connection.Value.Channel.Dispose();
        }

        _vehicleConnections.Clear();
        foreach (var connection in _operatorConnections.Where(c => c.IsValueCreated))
        {
            connection.Value.Channel.Dispose();
        }
    }

    private Connection VehicleConnection(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        // Lazy: vehicles of one group connecting at once open one channel, not one each of which all but one leak.
        return _vehicleConnections.GetOrAdd(
            index / ShareConnections,
            static (group, targets) => new Lazy<Connection>(() => new Connection(CreateChannel(targets[group % targets.Length], group))),
            _targets).Value;
    }

    private int NextOperatorIndex() =>
        _targets.Length == 1 ? 0 : (int)((ulong)Interlocked.Increment(ref _operatorCalls) % (ulong)_targets.Length);

    /// <summary>
    /// A channel to one target over its own <see cref="SocketsHttpHandler"/>: h2c for <c>http://</c>, TLS with ALPN h2
    /// for <c>https://</c> (grpc-dotnet asks for HTTP/2 exactly), further HTTP/2 connections past the server's stream
    /// limit (the operators' channel carries every watch stream), no idle or lifetime limit on connections. The
    /// handler connects through <see cref="ConnectAsync"/>, which picks the source address; with a connect callback of
    /// its own grpc-dotnet leaves connection management to the handler instead of its balancer's subchannel
    /// transport, which would check each idle channel's socket every few seconds: thousands of timers for nothing,
    /// since every channel here has exactly one address.
    /// </summary>
    private static GrpcChannel CreateChannel(Uri target, int group)
    {
        var loopback = IPAddress.TryParse(target.Host, out var host) && IPAddress.IsLoopback(host) && host.AddressFamily == AddressFamily.InterNetwork;
        var source = loopback && group >= 0 ? new IPAddress([127, 0, 0, (byte)(1 + (group % LoopbackSourceAddresses))]) : null;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = (context, cancellationToken) => ConnectAsync(source, context.DnsEndPoint, cancellationToken),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        return GrpcChannel.ForAddress(target, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    private static async ValueTask<Stream> ConnectAsync(IPAddress? source, DnsEndPoint target, CancellationToken cancellationToken)
    {
        // Without a source address: a dual-mode socket, which reaches IPv4 and IPv6 targets as the handler's own would.
        var socket = source is null
            ? new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(target, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>One channel and the generated clients over it, made once (a client per call would allocate per call).</summary>
    private sealed class Connection
    {
        public Connection(GrpcChannel channel)
        {
            Channel = channel;
            var invoker = channel.CreateCallInvoker();
            VehicleLink = new VehicleLink.VehicleLinkClient(invoker);
            FleetOperator = new FleetOperator.FleetOperatorClient(invoker);
            Echo = new TestService.TestServiceClient(invoker);
        }

        public GrpcChannel Channel { get; }

        public VehicleLink.VehicleLinkClient VehicleLink { get; }

        public FleetOperator.FleetOperatorClient FleetOperator { get; }

        public TestService.TestServiceClient Echo { get; }
    }
}
