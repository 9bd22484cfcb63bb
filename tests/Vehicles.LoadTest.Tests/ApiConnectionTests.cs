using System.Net;
using System.Net.Sockets;
using Grpc.Core;

namespace Vehicles.LoadTest.Tests;

/// <summary>The connection layout against a plain TCP listener on 127.0.0.1, which records where connections come from.</summary>
public sealed class ApiConnectionTests : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _accepted = [];

    public ApiConnectionTests() => _listener.Start();

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    [Fact]
    public async Task ForVehicle_LoopbackTarget_GivesEachConnectionGroupItsOwnConnectionFromItsOwnSourceAddress()
    {
        using var api = new ApiConnection(new Uri($"http://127.0.0.1:{Port}"), "token", new ApiSettings { ShareConnections = 2 });

        var clients = Enumerable.Range(0, 6).Select(api.ForVehicle).ToArray();
        var calls = new[] { clients[0], clients[2], clients[4] }.Select(c => c.Connect()).ToArray();
        var sources = await AcceptSourcesAsync(3);

        Assert.Same(clients[0], clients[1]);
        Assert.NotSame(clients[1], clients[2]);
        Assert.Equal(3, api.VehicleChannels);
        Assert.Equal(["127.0.0.1", "127.0.0.2", "127.0.0.3"], sources.Order(StringComparer.Ordinal));
        DisposeAll(calls);
    }

    [Fact]
    public async Task ForVehicle_BeyondTheEighthGroup_ReusesTheSourceAddressesInTurn()
    {
        using var api = new ApiConnection(new Uri($"http://127.0.0.1:{Port}"), "token", new ApiSettings());

        var call = api.ForVehicle(9).Connect();
        var sources = await AcceptSourcesAsync(1);

        Assert.Equal(["127.0.0.2"], sources);
        call.Dispose();
    }

    [Fact]
    public async Task ForVehicle_HostNameTarget_ConnectsWithoutChoosingASourceAddress()
    {
        using var api = new ApiConnection(new Uri($"http://localhost:{Port}"), "token", new ApiSettings());

        var call = api.ForVehicle(5).Connect();
        var sources = await AcceptSourcesAsync(1);

        Assert.Equal(["127.0.0.1"], sources);
        call.Dispose();
    }

    [Fact]
    public async Task ForOperators_OneTarget_IsOneSharedClientConnectingFromTheDefaultSource()
    {
        using var api = new ApiConnection(new Uri($"http://127.0.0.1:{Port}"), null, new ApiSettings { OperatorToken = "op" });

        var first = api.ForOperators();
        var calls = new[] { first.WatchFleet(new(), new CallOptions(api.OperatorHeaders())), api.ForOperators().WatchFleet(new(), new CallOptions(api.OperatorHeaders())) };
        var sources = await AcceptSourcesAsync(1);

        Assert.Same(first, api.ForOperators());
        Assert.Same(api.OperatorHeaders(), api.OperatorHeaders());
        Assert.Equal(["127.0.0.1"], sources);
        Assert.Equal(0, api.VehicleChannels);
        DisposeAll(calls);
    }

    public void Dispose()
    {
        foreach (var socket in _accepted)
        {
            socket.Dispose();
        }

        _listener.Dispose();
    }

    private static void DisposeAll(IEnumerable<IDisposable> calls)
    {
        foreach (var call in calls)
        {
            call.Dispose();
        }
    }

    private async Task<string[]> AcceptSourcesAsync(int count)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var sources = new string[count];
        for (var i = 0; i < count; i++)
        {
            var socket = await _listener.AcceptSocketAsync(deadline.Token);
            _accepted.Add(socket);
            var remote = ((IPEndPoint)socket.RemoteEndPoint!).Address;
            sources[i] = (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
        }

        return sources;
    }
}
