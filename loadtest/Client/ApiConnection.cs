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
/// </summary>
public sealed class ApiConnection : IDisposable
{
    private const int LoopbackSourceAddresses = 8;

    private readonly ConcurrentDictionary<int, GrpcChannel> _channels = new();
    private readonly TokenService? _tokens;
    private readonly string? _vehicleToken;
    private readonly Lazy<GrpcChannel> _operatorChannel;
    private readonly bool _loopback;

    /// <summary>Creates the connection from the scenario's settings.</summary>
    /// <exception cref="ArgumentException">No target, or neither tokens nor a signing key.</exception>
    public ApiConnection(Uri target, string? vehicleToken, ApiSettings settings)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(settings);
        Address = target;
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

        _loopback = IPAddress.TryParse(target.Host, out var host) && IPAddress.IsLoopback(host) && host.AddressFamily == AddressFamily.InterNetwork;
        _operatorChannel = new Lazy<GrpcChannel>(() => CreateChannel(-1));
    }

    /// <summary>The API's address.</summary>
    public Uri Address { get; }

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

    /// <summary>The invoker of vehicle number <paramref name="vehicleIndex"/>'s connection.</summary>
    public CallInvoker ForVehicle(int vehicleIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vehicleIndex);
        var group = vehicleIndex / ShareConnections;
        return _channels.GetOrAdd(group, CreateChannel).CreateCallInvoker();
    }

    /// <summary>The invoker the operators share.</summary>
    public CallInvoker ForOperators() => _operatorChannel.Value.CreateCallInvoker();

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        _channels.Clear();
        if (_operatorChannel.IsValueCreated)
        {
            _operatorChannel.Value.Dispose();
        }
    }

    private GrpcChannel CreateChannel(int group)
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
        if (_loopback && group >= 0)
        {
            var source = new IPAddress([127, 0, 0, (byte)(1 + (group % LoopbackSourceAddresses))]);
            handler.ConnectCallback = (context, cancellationToken) => ConnectFromAsync(source, context.DnsEndPoint, cancellationToken);
        }

        return GrpcChannel.ForAddress(Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpHandler = true });
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
