using Vehicles.Api.Commands;

namespace Vehicles.Api.Security;

/// <summary>
/// Who is calling, as proven by a validated token: a <see cref="VehicleIdentity"/> or an
/// <see cref="OperatorIdentity"/>. The authorization checks default to "no", so a new kind of caller can do nothing
/// until it says otherwise.
/// </summary>
public abstract class CallerIdentity
{
    private protected CallerIdentity(string subject, string tokenId, DateTimeOffset expiresAt)
    {
        Subject = subject;
        TokenId = tokenId;
        ExpiresAt = expiresAt;
    }

    /// <summary>The token's subject: the VIN of a vehicle, the user or service name of an operator.</summary>
    public string Subject { get; }

    /// <summary>The token's unique id (jti), for audit logs.</summary>
    public string TokenId { get; }

    /// <summary>When the token expires; long-lived streams end at this time.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>May read and watch the vehicles and commands of <paramref name="fleetId"/>.</summary>
    public virtual bool CanRead(string fleetId) => false;

    /// <summary>May send and cancel commands for vehicles of <paramref name="fleetId"/>.</summary>
    public virtual bool CanCommand(string fleetId) => false;

    /// <summary>May send <paramref name="command"/>, whose role requirement may exceed <see cref="CanCommand"/>'s.</summary>
    public virtual bool CanSendCommand(string fleetId, CommandDefinition command) => false;

    /// <summary>May do everything, including admin-only actions, in <paramref name="fleetId"/>.</summary>
    public virtual bool CanAdminister(string fleetId) => false;

    /// <summary>May connect and report as the vehicle <paramref name="vin"/>.</summary>
    public virtual bool CanActAsVehicle(string vin) => false;
}

/// <summary>A vehicle: may act only as its own VIN, and may not read or command anything.</summary>
public sealed class VehicleIdentity : CallerIdentity
{
    /// <summary>Creates the identity of vehicle <paramref name="vin"/>.</summary>
    public VehicleIdentity(string vin, string tokenId, DateTimeOffset expiresAt)
        : this(vin, "", tokenId, expiresAt)
    {
    }

    /// <summary>Creates the identity of vehicle <paramref name="vin"/> of fleet <paramref name="fleetId"/> (empty when the token names none).</summary>
    public VehicleIdentity(string vin, string fleetId, string tokenId, DateTimeOffset expiresAt)
        : base(vin, tokenId, expiresAt)
    {
        ArgumentNullException.ThrowIfNull(fleetId);
        Vin = vin;
        FleetId = fleetId;
    }

    /// <summary>The vehicle's VIN.</summary>
    public string Vin { get; }

    /// <summary>The fleet the token assigns the vehicle to; empty when it names none (the vehicle keeps its current fleet).</summary>
    public string FleetId { get; }

    /// <inheritdoc/>
    public override bool CanActAsVehicle(string vin) => string.Equals(Vin, vin, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => "vehicle " + Vin;
}

/// <summary>A person or service working on fleets, with a <see cref="OperatorRole"/> in each of its fleets.</summary>
public sealed class OperatorIdentity : CallerIdentity
{
    /// <summary>The fleet wildcard: every fleet. Only admins may hold it.</summary>
    public const string AllFleetsWildcard = "*";

    private readonly HashSet<string> _fleets;

    /// <summary>Creates an operator identity; <paramref name="fleetIds"/> may contain <see cref="AllFleetsWildcard"/>.</summary>
    public OperatorIdentity(string subject, IEnumerable<string> fleetIds, OperatorRole role, string tokenId, DateTimeOffset expiresAt)
        : base(subject, tokenId, expiresAt)
    {
        ArgumentNullException.ThrowIfNull(fleetIds);
        _fleets = new HashSet<string>(fleetIds, StringComparer.Ordinal);
        Role = role;
        AllFleets = _fleets.Contains(AllFleetsWildcard);
        FleetIds = [.. _fleets.Where(f => f != AllFleetsWildcard).Order(StringComparer.Ordinal)];
    }

    /// <summary>The operator's role.</summary>
    public OperatorRole Role { get; }

    /// <summary>Whether the token covers every fleet (the <see cref="AllFleetsWildcard"/>).</summary>
    public bool AllFleets { get; }

    /// <summary>The fleets named in the token, sorted, without the wildcard; filter listings by these unless <see cref="AllFleets"/>.</summary>
    public IReadOnlyList<string> FleetIds { get; }

    /// <summary>Whether the token covers <paramref name="fleetId"/>, whatever the role.</summary>
    public bool CoversFleet(string fleetId) => AllFleets || _fleets.Contains(fleetId);

    /// <inheritdoc/>
    public override bool CanRead(string fleetId) => Role >= OperatorRole.Viewer && CoversFleet(fleetId);

    /// <inheritdoc/>
    public override bool CanCommand(string fleetId) => Role >= OperatorRole.Operator && CoversFleet(fleetId);

    /// <inheritdoc/>
    public override bool CanSendCommand(string fleetId, CommandDefinition command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return CanCommand(fleetId) && Role >= command.RequiredRole;
    }

    /// <inheritdoc/>
    public override bool CanAdminister(string fleetId) => Role >= OperatorRole.Admin && CoversFleet(fleetId);

    /// <inheritdoc/>
    public override string ToString() => "operator " + Subject + " (" + Role + ")";
}
