using System.Reflection;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace Vehicles.Storage.Tests;

/// <summary>In-process silos configured by <see cref="VehicleStorageSiloBuilderExtensions"/> from in-memory settings.</summary>
internal static class TestSilos
{
    public static Dictionary<string, string?> SqliteSettings(string directory) => new()
    {
        ["Storage:Provider"] = "Sqlite",
        ["Storage:DataDirectory"] = directory,
        ["Storage:BusyTimeout"] = "00:00:05",
    };

    public static Dictionary<string, string?> PostgresSettings(string schema) => new()
    {
        ["Storage:Provider"] = "PostgreSql",
        ["Storage:ConnectionString"] = TestDatabases.PostgresConnectionString,
        ["Storage:Schema"] = schema,
    };

    /// <summary>
    /// Starts <paramref name="silos"/> silos of the service <paramref name="serviceId"/> (storage keys include it, so
    /// a second cluster of the same id sees the first one's state). With <paramref name="vehicleClustering"/> the silos
    /// use <see cref="VehicleStorageSiloBuilderExtensions.UseVehicleClustering"/> instead of the test membership, and
    /// no client is started (it would need a gateway list): call grains through a silo's grain factory.
    /// </summary>
    public static async Task<InProcessTestCluster> StartAsync(
        Dictionary<string, string?> settings, string serviceId, short silos = 1, bool vehicleClustering = false)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ServiceId = serviceId;
        builder.Options.ClusterId = serviceId;
        builder.Options.ConfigureFileLogging = false;
        if (vehicleClustering)
        {
            builder.Options.InitializeClientOnDeploy = false;
            DisableTestClusterMembership(builder.Options);
        }

        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddVehicleStorage(configuration);
            if (vehicleClustering)
            {
                silo.UseVehicleClustering(configuration);
            }
        });
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Turns off the test cluster's in-memory membership table and the grain directory that asks it for silo status,
    /// so that the silos use the ADO.NET membership of UseVehicleClustering. The switch is internal in 10.4.2.
    /// </summary>
    private static void DisableTestClusterMembership(InProcessTestClusterOptions options)
    {
        var property = typeof(InProcessTestClusterOptions).GetProperty("UseTestClusterMembership", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
            ?? throw new InvalidOperationException("InProcessTestClusterOptions.UseTestClusterMembership is gone: find the new switch.");
        property.SetValue(options, false);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }
}
