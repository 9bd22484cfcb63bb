using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.Security;
using Vehicles.Api.Services;
using Vehicles.Api.V1;
using Vehicles.Grains;
using Vehicles.Grpc;

namespace Vehicles.Api.Tests;

/// <summary>
/// FleetOperatorService.FindNearbyVehicles over the silo's default geo index, and its statuses when the index fails.
/// End-to-end tests over gRPC cover the same call through a real silo; these pin the status mapping.
/// </summary>
public sealed class FindNearbyVehiclesServiceTests
{
    private const string Fleet = "fleet-a";

    [Fact]
    public async Task FindNearbyVehicles_MapsTheIndexAnswerInOrder()
    {
        var index = new InMemoryVehicleGeoIndex();
        index.UpdatePosition(Fleet, "FAR", 48.2, 11.5);
        index.UpdatePosition(Fleet, "NEAR", 48.11, 11.5);
        await using var services = await Services(index);

        var response = await Service(services).FindNearbyVehicles(Request(), new TestCallContext(Operator(Fleet)));

        Assert.Equal(["NEAR", "FAR"], response.Vehicles.Select(v => v.Vin));
        Assert.Equal(48.11, response.Vehicles[0].Latitude);
        Assert.Equal(11.5, response.Vehicles[0].Longitude);
        Assert.Equal(InMemoryVehicleGeoIndex.DistanceKm(48.1, 11.5, 48.11, 11.5), response.Vehicles[0].DistanceKm);
    }

    [Fact]
    public async Task FindNearbyVehicles_WhenTheIndexIsUnavailable_IsUnavailableWithRetryHint()
    {
        await using var services = await Services(new UnreachableGeoIndex());

        var error = await Assert.ThrowsAsync<RpcException>(
            () => Service(services).FindNearbyVehicles(Request(), new TestCallContext(Operator(Fleet))));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("geo index unavailable: Redis cannot be reached or did not answer in time, retry later", error.Status.Detail);
    }

    [Fact]
    public async Task FindNearbyVehicles_WhenTheIndexCannotHoldThePoint_IsInvalidArgumentNamingTheField()
    {
        await using var services = await Services(new UnreachableGeoIndex());
        var request = Request();
        request.Latitude = 89;

        var error = await Assert.ThrowsAsync<RpcException>(
            () => Service(services).FindNearbyVehicles(request, new TestCallContext(Operator(Fleet))));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("latitude: is outside the area the geo index covers", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindNearbyVehicles_ForAFleetOutsideTheToken_IsPermissionDeniedBeforeTheIndexIsAsked()
    {
        await using var services = await Services(new UnreachableGeoIndex());

        var error = await Assert.ThrowsAsync<RpcException>(
            () => Service(services).FindNearbyVehicles(Request(), new TestCallContext(Operator("fleet-b"))));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("fleet_id: the token does not cover fleet fleet-a", error.Status.Detail);
    }

    private static FindNearbyVehiclesRequest Request() => new() { FleetId = Fleet, Latitude = 48.1, Longitude = 11.5, RadiusKm = 20 };

    private static OperatorIdentity Operator(string fleet) =>
        new("alice", [fleet], OperatorRole.Viewer, "token-1", TestTime.Start.AddHours(1));

    // The api composed on a real, single Orleans silo (memory storage, loopback), as the silo host composes it.
    private static async Task<SiloServices> Services(IVehicleGeoIndex index)
    {
        var host = Host.CreateDefaultBuilder()
            .UseOrleans(silo => silo
                .UseLocalhostClustering(siloPort: FreePort(), gatewayPort: 0, serviceId: "api-tests", clusterId: "api-tests")
                .AddMemoryGrainStorage(GrainsServiceCollectionExtensions.StorageName))
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureServices(services =>
            {
                services.AddSingleton<TimeProvider>(new FakeTimeProvider(TestTime.Start));
                services.AddKeyedSingleton<TimeProvider>(KeyedService.AnyKey, TimeProvider.System);
                services.AddSingleton(index);
                services.AddVehiclesApi(new ConfigurationBuilder().Build());
            })
            .Build();
        await host.StartAsync();
        return new SiloServices(host);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static FleetOperatorService Service(SiloServices services) => services.Host.Services.GetRequiredService<FleetOperatorService>();

    private sealed class SiloServices(IHost host) : IAsyncDisposable
    {
        public IHost Host { get; } = host;

        public async ValueTask DisposeAsync()
        {
            await Host.StopAsync();
            Host.Dispose();
        }
    }

    /// <summary>What the Redis-backed index does while Redis is down (its own tests run that against a closed port).</summary>
    private sealed class UnreachableGeoIndex : IVehicleGeoIndex
    {
        public void UpdatePosition(string fleetId, string vin, double latitude, double longitude)
        {
        }

        public Task RemoveAsync(string fleetId, string vin, CancellationToken cancellationToken) => throw Unavailable();

        public Task<IReadOnlyList<Grains.NearbyVehicle>> NearbyAsync(
            string fleetId, double latitude, double longitude, double radiusKm, int limit, CancellationToken cancellationToken) =>
            Math.Abs(latitude) > 85.05112878
                ? throw new ArgumentOutOfRangeException(nameof(latitude), latitude, "Latitude must be within ±85.05112878.")
                : throw Unavailable();

        private static FeatureUnavailableException Unavailable() => new("geo", "Redis cannot be reached or did not answer in time");
    }

    private sealed class TestCallContext : ServerCallContext
    {
        private readonly Dictionary<object, object> _userState = [];

        public TestCallContext(CallerIdentity caller) => _userState[CallerContext.Key] = caller;

        public override string Method => "/vehicles.v1.FleetOperator/FindNearbyVehicles";

        public override string Host => "127.0.0.1";

        public override string Peer => "ipv4:127.0.0.1:1";

        public override DateTime Deadline => DateTime.MaxValue;

        public override Metadata RequestHeaders { get; } = [];

        public override CancellationToken CancellationToken => CancellationToken.None;

        public override Metadata ResponseTrailers { get; } = [];

        public override Status Status { get; set; }

        public override IDictionary<object, object> UserState => _userState;

        public override Task WriteResponseHeadersAsync(Metadata responseHeaders) => Task.CompletedTask;
    }
}
