namespace Vehicles.Cluster;

/// <summary>
/// One incarnation of a silo: the endpoint other silos reach it at and the generation of the process behind it. A
/// restart at the same endpoint is a new generation, so a silo declared dead never comes back under its old identity.
/// </summary>
/// <param name="Endpoint">Where the silo listens for silo-to-silo calls, such as <c>10.0.0.5:11111</c>.</param>
/// <param name="Generation">Strictly increasing per endpoint: the start time in UTC ticks, bumped when it would not grow.</param>
public readonly record struct SiloAddress(string Endpoint, long Generation)
{
    /// <summary>The identity hashed by placement and written to logs: <c>endpoint@generation</c>.</summary>
    public override string ToString() => Endpoint + "@" + Generation.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
