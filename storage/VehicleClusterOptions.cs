namespace Vehicles.Storage;

/// <summary>
/// Settings of cluster membership and the silo's endpoints, bound from the configuration section <c>"Cluster"</c>.
/// </summary>
public sealed class VehicleClusterOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Cluster";

    /// <summary>
    /// <see langword="true"/>: silos find each other through the membership tables in PostgreSQL (requires
    /// <c>Storage:Provider</c> = <c>PostgreSql</c>). <see langword="false"/> (default): a single silo with localhost clustering.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>The service id; part of every storage and reminder key, so it must never change. Defaults to <c>vehicles</c>.</summary>
    public string ServiceId { get; set; } = "vehicles";

    /// <summary>The cluster id: silos with the same id form one cluster. Defaults to <c>vehicles</c>.</summary>
    public string ClusterId { get; set; } = "vehicles";

    /// <summary>The port silos talk to each other on. Defaults to 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port Orleans clients connect to; 0 (the default) opens none: the api runs inside the silo and needs no gateway.</summary>
    public int GatewayPort { get; set; }

    /// <summary>The address other silos and clients reach this silo at. Defaults to <c>127.0.0.1</c>.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Throws when a setting is missing or out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            throw new InvalidOperationException("Cluster:ServiceId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(ClusterId))
        {
            throw new InvalidOperationException("Cluster:ClusterId must not be empty.");
        }

        if (SiloPort is < 1 or > 65535 || GatewayPort is < 0 or > 65535)
        {
            throw new InvalidOperationException($"Cluster:SiloPort ({SiloPort}) must be 1-65535 and Cluster:GatewayPort ({GatewayPort}) 0-65535.");
        }

        if (!System.Net.IPAddress.TryParse(AdvertisedAddress, out _))
        {
            throw new InvalidOperationException($"Cluster:AdvertisedAddress '{AdvertisedAddress}' is not an IP address.");
        }
    }
}
