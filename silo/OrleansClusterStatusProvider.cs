using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.Services;
using ApiSilo = Vehicles.Api.V1.Silo;
using ApiSiloStatus = Vehicles.Api.V1.SiloStatus;

namespace Vehicles.Silo;

/// <summary>
/// The admin view from Orleans' membership: <see cref="IManagementGrain.GetDetailedHosts(bool)"/> for the silos, their
/// statuses, heartbeats and suspicions, and the runtime statistics of the active ones for their activation counts.
/// A silo's endpoint is its silo name, which the host sets to its gRPC address.
/// </summary>
internal sealed class OrleansClusterStatusProvider(IGrainFactory grains, ILocalSiloDetails local) : IClusterStatusProvider
{
    public async Task<IReadOnlyList<ApiSilo>> ListSilosAsync(bool includeDead, CancellationToken cancellationToken)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetDetailedHosts(onlyActive: false, cancellationToken);
        var active = hosts.Where(h => h.Status == SiloStatus.Active).Select(h => h.SiloAddress).ToArray();
        var activations = new Dictionary<SiloAddress, long>();
        if (active.Length > 0)
        {
            var statistics = await management.GetRuntimeStatistics(active, cancellationToken);
            for (var i = 0; i < active.Length && i < statistics.Length; i++)
            {
                activations[active[i]] = statistics[i].ActivationCount;
            }
        }

        return [.. hosts
            .Where(h => includeDead || h.Status != SiloStatus.Dead)
            .Select(h => new ApiSilo
            {
                Endpoint = h.SiloName,
                Generation = h.SiloAddress.Generation,
                Status = h.Status switch
                {
                    SiloStatus.Created or SiloStatus.Joining => ApiSiloStatus.Joining,
                    SiloStatus.Active => ApiSiloStatus.Active,
                    SiloStatus.ShuttingDown or SiloStatus.Stopping => ApiSiloStatus.ShuttingDown,
                    _ => ApiSiloStatus.Dead,
                },
                LastHeartbeat = Timestamp.FromDateTime(DateTime.SpecifyKind(h.IAmAliveTime, DateTimeKind.Utc)),
                ActivationCount = activations.GetValueOrDefault(h.SiloAddress),
                Local = h.SiloAddress.Equals(local.SiloAddress),
                SuspicionVotes = h.SuspectTimes?.Count ?? 0,
            })];
    }
}
