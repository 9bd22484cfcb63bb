using Google.Protobuf.WellKnownTypes;
using Vehicles.Api.Services;
using Vehicles.Cluster;
using ApiSilo = Vehicles.Api.V1.Silo;
using ApiSiloStatus = Vehicles.Api.V1.SiloStatus;

namespace Vehicles.Silo;

/// <summary>The admin view of a clustered silo: a fresh read of the membership table.</summary>
internal sealed class MembershipStatusProvider(MembershipService membership) : IClusterStatusProvider
{
    public async Task<IReadOnlyList<ApiSilo>> ListSilosAsync(bool includeDead, CancellationToken cancellationToken)
    {
        var members = await membership.ReadMembersAsync(cancellationToken);
        return [.. members
            .Where(m => includeDead || m.Status != SiloStatus.Dead)
            .Select(m => new ApiSilo
            {
                Endpoint = m.Address.Endpoint,
                Generation = m.Address.Generation,
                Status = m.Status switch
                {
                    SiloStatus.Joining => ApiSiloStatus.Joining,
                    SiloStatus.Active => ApiSiloStatus.Active,
                    SiloStatus.ShuttingDown => ApiSiloStatus.ShuttingDown,
                    _ => ApiSiloStatus.Dead,
                },
                LastHeartbeat = Timestamp.FromDateTimeOffset(m.LastHeartbeat),
                ActivationCount = m.Activations,
                Local = m.Address == membership.LocalSilo,
                SuspicionVotes = m.Votes,
            })];
    }
}
