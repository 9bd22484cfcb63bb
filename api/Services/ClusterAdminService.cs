using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Vehicles.Actors;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using Vehicles.Grpc;

namespace Vehicles.Api.Services;

/// <summary>What the admin view shows: the silos of the cluster. A clustered silo reads the membership table.</summary>
public interface IClusterStatusProvider
{
    /// <summary>Every known silo generation.</summary>
    Task<IReadOnlyList<Silo>> ListSilosAsync(bool includeDead, CancellationToken cancellationToken);
}

/// <summary>A silo running alone: lists itself, always active.</summary>
public sealed class SingleSiloStatusProvider(ActorRuntime runtime, IServer server, TimeProvider time) : IClusterStatusProvider
{
    private readonly long _generation = time.GetUtcNow().UtcTicks;

    /// <inheritdoc />
    public Task<IReadOnlyList<Silo>> ListSilosAsync(bool includeDead, CancellationToken cancellationToken)
        => Task.FromResult<IReadOnlyList<Silo>>(
        [
            new Silo
            {
                Endpoint = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "",
                Generation = _generation,
                Status = SiloStatus.Active,
                LastHeartbeat = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
                ActivationCount = runtime.ActivationCount,
                Local = true,
            },
        ]);
}

/// <summary>The vehicles.v1.ClusterAdmin service: the cluster's silos, for admins.</summary>
public sealed class ClusterAdminService(IClusterStatusProvider status)
{
    /// <summary>Lists the silos.</summary>
    public async Task<ListSilosResponse> ListSilos(ListSilosRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (context.GetCaller() is not OperatorIdentity { Role: OperatorRole.Admin })
        {
            throw ApiErrors.Denied("only operator tokens with the admin role may list silos");
        }

        var response = new ListSilosResponse();
        response.Silos.AddRange((await status.ListSilosAsync(request.IncludeDead, context.CancellationToken))
            .OrderBy(s => s.Status == SiloStatus.Dead)
            .ThenBy(s => s.Endpoint, StringComparer.Ordinal)
            .ThenByDescending(s => s.Generation));
        return response;
    }
}
