using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Api.Services;

/// <summary>What the admin view shows: the silos of the cluster, from Orleans' membership (the silo implements it).</summary>
public interface IClusterStatusProvider
{
    /// <summary>Every known silo generation.</summary>
    Task<IReadOnlyList<Vehicles.Api.V1.Silo>> ListSilosAsync(bool includeDead, CancellationToken cancellationToken);
}

/// <summary>The vehicles.v1.ClusterAdmin service: the cluster's silos, for admins.</summary>
[Authorize(Policy = VehiclesPolicies.Admin)]
public sealed class ClusterAdminService(IClusterStatusProvider status) : ClusterAdmin.ClusterAdminBase
{
    /// <summary>Lists the silos.</summary>
    public override async Task<ListSilosResponse> ListSilos(ListSilosRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var response = new ListSilosResponse();
        response.Silos.AddRange((await status.ListSilosAsync(request.IncludeDead, context.CancellationToken))
            .OrderBy(s => s.Status == Vehicles.Api.V1.SiloStatus.Dead)
            .ThenBy(s => s.Endpoint, StringComparer.Ordinal)
            .ThenByDescending(s => s.Generation));
        return response;
    }
}
