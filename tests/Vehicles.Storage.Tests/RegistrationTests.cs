using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Vehicles.Storage.Tests;

/// <summary>What the registration methods configure, read from a built (never started) silo host.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public void UseVehicleClustering_Defaults_FixedIdsAndLocalhostPorts()
    {
        using var host = Build([], silo => silo.UseVehicleClustering(Configuration([])));

        var cluster = host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        var endpoints = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;

        Assert.Equal(("vehicles", "vehicles"), (cluster.ServiceId, cluster.ClusterId));
        Assert.Equal((11111, 0), (endpoints.SiloPort, endpoints.GatewayPort));
        Assert.Equal(IPAddress.Loopback, endpoints.AdvertisedIPAddress);
    }

    [Fact]
    public void UseVehicleClustering_Enabled_UsesTheConfiguredIdsPortsAndAddress()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = "Host=127.0.0.1;Username=u;Database=d",
            ["Cluster:Enabled"] = "true",
            ["Cluster:ServiceId"] = "svc",
            ["Cluster:ClusterId"] = "blue",
            ["Cluster:SiloPort"] = "12000",
            ["Cluster:GatewayPort"] = "31000",
            ["Cluster:AdvertisedAddress"] = "10.0.0.7",
        };

        using var host = Build(settings, silo => silo.UseVehicleClustering(Configuration(settings)));
        var cluster = host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        var endpoints = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;

        Assert.Equal(("svc", "blue"), (cluster.ServiceId, cluster.ClusterId));
        Assert.Equal((12000, 31000), (endpoints.SiloPort, endpoints.GatewayPort));
        Assert.Equal(IPAddress.Parse("10.0.0.7"), endpoints.AdvertisedIPAddress);
    }

    [Fact]
    public void UseVehicleClustering_EnabledOnSqlite_Throws()
    {
        var settings = new Dictionary<string, string?> { ["Cluster:Enabled"] = "true" };

        var exception = Assert.Throws<InvalidOperationException>(() => Build(settings, silo => silo.UseVehicleClustering(Configuration(settings))));

        Assert.Contains("PostgreSql", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddVehicleStorage_PostgresWithoutConnectionString_Throws()
    {
        var settings = new Dictionary<string, string?> { ["Storage:Provider"] = "PostgreSql" };

        var exception = Assert.Throws<InvalidOperationException>(() => Build(settings, silo => silo.AddVehicleStorage(Configuration(settings))));

        Assert.Contains("Storage:ConnectionString", exception.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static IHost Build(Dictionary<string, string?> settings, Action<ISiloBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleans(configure);
        return builder.Build();
    }
}
