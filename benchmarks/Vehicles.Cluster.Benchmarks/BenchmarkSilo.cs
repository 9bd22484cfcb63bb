using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vehicles.Actors;
using Vehicles.Silo;

namespace Vehicles.Cluster.Benchmarks;

/// <summary>
/// One clustered silo in this process: the production composition (<c>AddVehiclesSilo</c>, <c>MapVehiclesSilo</c>) with
/// <c>Cluster:Enabled</c>, on PostgreSQL and Redis, on a fixed free port of 127.0.0.1 (the port is its cluster identity).
/// </summary>
internal sealed class BenchmarkSilo : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchmarkSilo(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public IGrainFactory Grains => _app.Services.GetRequiredService<IGrainFactory>();

    public RendezvousPlacementDirector Placement => _app.Services.GetRequiredService<RendezvousPlacementDirector>();

    public static async Task<BenchmarkSilo> StartAsync(ClusterEnvironment environment, CancellationToken cancellationToken)
    {
        var endpoint = "127.0.0.1:" + FreePort();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Grpc:Address"] = endpoint,
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = environment.Postgres,
            ["Storage:Schema"] = environment.StorageSchema,
            ["Cluster:Enabled"] = "true",
            ["Cluster:Schema"] = environment.ClusterSchema,
            ["Cluster:Redis"] = environment.Redis,
            ["Cluster:RedisKeyPrefix"] = environment.RedisKeyPrefix,
            ["Tokens:SigningKey"] = environment.SigningKey,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        builder.AddVehiclesSilo();
        var app = builder.Build();
        app.MapVehiclesSilo();
        await app.StartAsync(cancellationToken);
        return new BenchmarkSilo(app, endpoint);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _app.StopAsync(stop.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The figures are printed by now; a silo that cannot leave cleanly (PostgreSQL gone) must not hide them.
            await Console.Error.WriteLineAsync($"warning: silo {Endpoint} did not stop cleanly: {e.GetType().Name}: {e.Message}");
        }

        await _app.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The servers and the names one benchmark run uses, unique so that runs share no tables or keys.</summary>
internal sealed record ClusterEnvironment(string Postgres, string Redis, string StorageSchema, string ClusterSchema, string RedisKeyPrefix, string SigningKey);
