using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vehicles.Api.Security;
using Vehicles.Api.Services;
using Vehicles.Api.V1;
using Vehicles.Grains;

namespace Vehicles.Api.Tests;

/// <summary>
/// FleetOperatorService.FindNearbyVehicles over the silo's default geo index, and its statuses when the index fails,
/// called with Grpc.Net.Client through a real server on 127.0.0.1 (Kestrel, the api's interceptors, a real token).
/// End-to-end tests cover the same call through a whole silo; these pin the status mapping.
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
        await using var server = await ApiServer.StartAsync(index);

        var response = await server.FindNearbyAsync(Request(), Fleet);

        Assert.Equal(["NEAR", "FAR"], response.Vehicles.Select(v => v.Vin));
        Assert.Equal(48.11, response.Vehicles[0].Latitude);
        Assert.Equal(11.5, response.Vehicles[0].Longitude);
        Assert.Equal(InMemoryVehicleGeoIndex.DistanceKm(48.1, 11.5, 48.11, 11.5), response.Vehicles[0].DistanceKm);
    }

    [Fact]
    public async Task FindNearbyVehicles_WhenTheIndexIsUnavailable_IsUnavailableWithRetryHint()
    {
        await using var server = await ApiServer.StartAsync(new UnreachableGeoIndex());

        var error = await Assert.ThrowsAsync<RpcException>(() => server.FindNearbyAsync(Request(), Fleet));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("geo index unavailable: Redis cannot be reached or did not answer in time, retry later", error.Status.Detail);
    }

    [Fact]
    public async Task FindNearbyVehicles_WhenTheIndexCannotHoldThePoint_IsInvalidArgumentNamingTheField()
    {
        await using var server = await ApiServer.StartAsync(new UnreachableGeoIndex());
        var request = Request();
        request.Latitude = 89;

        var error = await Assert.ThrowsAsync<RpcException>(() => server.FindNearbyAsync(request, Fleet));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("latitude: is outside the area the geo index covers", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindNearbyVehicles_ForAFleetOutsideTheToken_IsPermissionDeniedBeforeTheIndexIsAsked()
    {
        await using var server = await ApiServer.StartAsync(new UnreachableGeoIndex());

        var error = await Assert.ThrowsAsync<RpcException>(() => server.FindNearbyAsync(Request(), "fleet-b"));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("fleet_id: the token does not cover fleet fleet-a", error.Status.Detail);
    }

    private static FindNearbyVehiclesRequest Request() => new() { FleetId = Fleet, Latitude = 48.1, Longitude = 11.5, RadiusKm = 20 };

    /// <summary>
    /// The api composed as the silo host composes it (AddGrpc, AddVehiclesApi, a single Orleans silo with memory storage
    /// on loopback), serving vehicles.v1.FleetOperator over h2c on a free port of 127.0.0.1.
    /// </summary>
    private sealed class ApiServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly GrpcChannel _channel;

        private ApiServer(WebApplication app, GrpcChannel channel)
        {
            _app = app;
            _channel = channel;
        }

        public static async Task<ApiServer> StartAsync(IVehicleGeoIndex index)
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Tokens:SigningKey"] = Convert.ToBase64String(new byte[32]),
            });
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
            builder.UseOrleans(silo => silo
                .UseLocalhostClustering(siloPort: FreePort(), gatewayPort: 0, serviceId: "api-tests", clusterId: "api-tests")
                .AddMemoryGrainStorage(GrainsServiceCollectionExtensions.StorageName));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(index);
            builder.Services.AddVehiclesApi(builder.Configuration);
            var app = builder.Build();
            app.MapGrpcService<FleetOperatorService>();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new ApiServer(app, GrpcChannel.ForAddress(address));
        }

        /// <summary>FindNearbyVehicles as a viewer of <paramref name="tokenFleet"/>, with a deadline.</summary>
        public async Task<FindNearbyVehiclesResponse> FindNearbyAsync(FindNearbyVehiclesRequest request, string tokenFleet)
        {
            var token = _app.Services.GetRequiredService<TokenService>().MintOperatorToken("alice", [tokenFleet], OperatorRole.Viewer);
            var headers = new Metadata { { "authorization", "Bearer " + token } };
            using var call = new FleetOperator.FleetOperatorClient(_channel).FindNearbyVehiclesAsync(request, headers, DateTime.UtcNow.AddSeconds(20));
            return await call;
        }

        public async ValueTask DisposeAsync()
        {
            _channel.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
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
}
