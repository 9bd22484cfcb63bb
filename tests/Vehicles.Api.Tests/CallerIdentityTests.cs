using Vehicles.Api.Commands;
using Vehicles.Api.Security;

namespace Vehicles.Api.Tests;

public sealed class CallerIdentityTests
{
    private const string Vin = "1M8GDM9AXKP042788";
    private const string OwnFleet = "fleet-a";
    private const string OtherFleet = "fleet-b";

    private static readonly DateTimeOffset _expires = TestTime.Start.AddHours(1);

    private static OperatorIdentity Operator(OperatorRole role, params string[] fleets) => new("alice", fleets, role, "jti", _expires);

    [Theory]
    // role, fleet, read, command, administer
    [InlineData(OperatorRole.Viewer, OwnFleet, true, false, false)]
    [InlineData(OperatorRole.Viewer, OtherFleet, false, false, false)]
    [InlineData(OperatorRole.Operator, OwnFleet, true, true, false)]
    [InlineData(OperatorRole.Operator, OtherFleet, false, false, false)]
    [InlineData(OperatorRole.Admin, OwnFleet, true, true, true)]
    [InlineData(OperatorRole.Admin, OtherFleet, false, false, false)]
    public void Operator_RoleMatrix(OperatorRole role, string fleet, bool read, bool command, bool administer)
    {
        var identity = Operator(role, OwnFleet);

        Assert.Equal(read, identity.CanRead(fleet));
        Assert.Equal(command, identity.CanCommand(fleet));
        Assert.Equal(administer, identity.CanAdminister(fleet));
        Assert.False(identity.CanActAsVehicle(Vin));
    }

    [Theory]
    [InlineData(OperatorRole.Viewer, false, false)]
    [InlineData(OperatorRole.Operator, true, false)]
    [InlineData(OperatorRole.Admin, true, true)]
    public void Operator_CanSendCommand_HonoursCommandRole(OperatorRole role, bool lockDoors, bool updateConfig)
    {
        var identity = Operator(role, OwnFleet);
        Assert.True(CommandCatalogue.Default.TryGet("lock_doors", out var lockCommand));
        Assert.True(CommandCatalogue.Default.TryGet("update_config", out var configCommand));

        Assert.Equal(lockDoors, identity.CanSendCommand(OwnFleet, lockCommand));
        Assert.Equal(updateConfig, identity.CanSendCommand(OwnFleet, configCommand));
        Assert.False(identity.CanSendCommand(OtherFleet, lockCommand));
    }

    [Fact]
    public void Operator_WithWildcard_CoversEveryFleet()
    {
        var identity = Operator(OperatorRole.Admin, OperatorIdentity.AllFleetsWildcard);

        Assert.True(identity.AllFleets);
        Assert.True(identity.CanRead("any"));
        Assert.True(identity.CanAdminister("any"));
    }

    [Fact]
    public void Operator_FleetMatchIsExact()
    {
        var identity = Operator(OperatorRole.Admin, OwnFleet);

        Assert.False(identity.CanRead("FLEET-A"));
        Assert.False(identity.CanRead("fleet-a "));
        Assert.False(identity.CanRead(""));
    }

    [Fact]
    public void Vehicle_MayOnlyActAsItsOwnVin()
    {
        var identity = new VehicleIdentity(Vin, "jti", _expires);
        Assert.True(CommandCatalogue.Default.TryGet("lock_doors", out var lockCommand));

        Assert.True(identity.CanActAsVehicle(Vin));
        Assert.False(identity.CanActAsVehicle("1HGCM82633A004352"));
        Assert.False(identity.CanActAsVehicle(Vin.ToLowerInvariant()));
        Assert.False(identity.CanRead(OwnFleet));
        Assert.False(identity.CanCommand(OwnFleet));
        Assert.False(identity.CanSendCommand(OwnFleet, lockCommand));
        Assert.False(identity.CanAdminister(OwnFleet));
    }

    [Fact]
    public void AuthenticationResult_Fail_RejectsNone()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AuthenticationResult.Fail(AuthenticationFailure.None, "x"));
    }
}
