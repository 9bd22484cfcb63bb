namespace Vehicles.Cluster.IntegrationTests;

/// <summary>
/// Every cluster test runs alone: each starts several silo processes on a 2-core machine, and timings (failure
/// detection, recovery within 10 s) mean nothing when another cluster competes for the cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollectionDefinition
{
    public const string Name = "Cluster";
}
