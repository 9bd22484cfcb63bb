using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vehicles.Storage;

namespace Vehicles.Grains.Benchmarks;

/// <summary>A single silo in this process: a plain host with UseOrleans, localhost clustering on free ports.</summary>
internal static class BenchSilo
{
    /// <summary>
    /// Starts a silo configured from <paramref name="settings"/> through <see cref="VehicleStorageSiloBuilderExtensions"/>
    /// (<c>UseVehicleClustering</c>, and <c>AddVehicleStorage</c> when <paramref name="withStorage"/>), as the real silo does.
    /// </summary>
    public static async Task<IHost> StartAsync(Dictionary<string, string?> settings, bool withStorage, Action<ISiloBuilder>? configure = null)
    {
        settings["Cluster:ServiceId"] = "grains-bench";
        settings["Cluster:ClusterId"] = "grains-bench";
        settings["Cluster:SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Cluster:GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        // Warnings stay on (blocked scheduler turns, late timers are worth seeing); the per-call timeout warnings of an
        // overloaded run would flood the output, and the benchmarks count those failures themselves.
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Orleans.Runtime.CallbackData", LogLevel.Error)
            .AddFilter("Orleans.Messaging", LogLevel.Critical);
        builder.UseOrleans(silo =>
        {
            silo.UseVehicleClustering(builder.Configuration);
            if (withStorage)
            {
                silo.AddVehicleStorage(builder.Configuration);
            }

            configure?.Invoke(silo);
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
