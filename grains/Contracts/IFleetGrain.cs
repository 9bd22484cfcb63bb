using Orleans.Concurrency;

namespace Vehicles.Grains;

/// <summary>
/// One fleet, keyed by fleet id: which vehicles belong to it and whether each is online. Vehicle grains keep it up
/// to date (on their first contact, on presence changes and when they move to another fleet); operators list it.
/// Full vehicle state stays in the vehicle grains: a listing gives VINs and presence, and the caller reads
/// <see cref="IVehicleGrain.GetAsync"/> for the page's vehicles.
/// </summary>
[Alias("vehicles.IFleetGrain")]
public interface IFleetGrain : IGrainWithStringKey
{
    /// <summary>Adds the vehicle to the fleet or updates its presence. An update older than the one held (by last-seen time) is ignored.</summary>
    [Alias("UpdateMember")]
    Task UpdateMemberAsync(FleetMemberUpdate update, CancellationToken cancellationToken = default);

    /// <summary>Removes the vehicle (it moved to another fleet). Unknown VINs are ignored.</summary>
    [Alias("RemoveMember")]
    Task RemoveMemberAsync(string vin, CancellationToken cancellationToken = default);

    /// <summary>Members ordered by VIN (ordinal), paged.</summary>
    /// <param name="pageSize">1..1000; 0 or less means 100, more than 1000 means 1000.</param>
    /// <param name="pageToken"><see cref="FleetVehiclePage.NextPageToken"/> of the previous page (with the same filter); empty or <see langword="null"/> for the first.</param>
    /// <param name="online">Only online (<see langword="true"/>) or offline (<see langword="false"/>) members; <see langword="null"/> for both.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    [ReadOnly]
    [Alias("ListVehicles")]
    Task<FleetVehiclePage> ListVehiclesAsync(int pageSize, string? pageToken, bool? online, CancellationToken cancellationToken = default);
}

/// <summary>A vehicle's presence as its grain reports it to its fleet.</summary>
/// <param name="Vin">The vehicle.</param>
/// <param name="Online">Whether it holds an open session.</param>
/// <param name="LastSeen">When it was last heard from.</param>
[GenerateSerializer]
[Alias("vehicles.FleetMemberUpdate")]
[Immutable]
public sealed record FleetMemberUpdate(
    [property: Id(0)] string Vin,
    [property: Id(1)] bool Online,
    [property: Id(2)] DateTimeOffset LastSeen);

/// <summary>One member of a fleet listing.</summary>
/// <param name="Vin">The vehicle.</param>
/// <param name="Online">Whether it held an open session at its last update.</param>
/// <param name="LastSeen">When it was last heard from, as of its last update.</param>
[GenerateSerializer]
[Alias("vehicles.FleetMember")]
[Immutable]
public sealed record FleetMember(
    [property: Id(0)] string Vin,
    [property: Id(1)] bool Online,
    [property: Id(2)] DateTimeOffset LastSeen);

/// <summary>A page of <see cref="IFleetGrain.ListVehiclesAsync"/>.</summary>
/// <param name="Vehicles">Ordered by VIN.</param>
/// <param name="NextPageToken">Token of the next page; empty on the last page.</param>
[GenerateSerializer]
[Alias("vehicles.FleetVehiclePage")]
public sealed record FleetVehiclePage(
    [property: Id(0)] FleetMember[] Vehicles,
    [property: Id(1)] string NextPageToken);
