namespace Vehicles.Api.Security;

/// <summary>
/// What an operator token may do; each role includes the rights of the ones before it. Where it may do it is
/// the token's fleet list (<see cref="OperatorIdentity.FleetIds"/>).
/// </summary>
public enum OperatorRole
{
    /// <summary>Read vehicle state and commands, watch vehicles and fleets.</summary>
    Viewer = 1,

    /// <summary>Also send and cancel commands (except admin-only ones such as update_config).</summary>
    Operator = 2,

    /// <summary>
    /// Everything within its fleets, including admin-only commands; only an admin token may hold the
    /// <see cref="OperatorIdentity.AllFleets"/> wildcard.
    /// </summary>
    Admin = 3,
}
