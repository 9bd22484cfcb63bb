using Google.Protobuf.Reflection;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Tests;

public sealed class SignalRulesTests
{
    private const string Path = "status.signals";
    private const int MaxExtra = 64;

    [Fact]
    public void Validate_WhenNullOrEmpty_IsValid()
    {
        Assert.Null(SignalRules.Validate(null, Path, MaxExtra));
        Assert.Null(SignalRules.Validate(new Signals(), Path, MaxExtra));
    }

    [Fact]
    public void Validate_WhenEveryTypedFieldAtABound_IsValid()
    {
        var signals = new Signals
        {
            Speed = 500,
            Latitude = -90,
            Longitude = 180,
            Heading = 360,
            Altitude = -1000,
            StateOfCharge = 100,
            Range = 0,
            TraveledDistance = 10_000_000,
            IsCharging = true,
            ChargeLimit = 0,
            DoorLockState = DoorLockState.PartiallyLocked,
            AmbientAirTemperature = -100,
            ExteriorAirTemperature = 100,
            LowVoltageSystemState = LowVoltageSystemState.Start,
            LowVoltageBatteryVoltage = 12.6,
            FuelLevel = 0,
            IsMoving = false,
        };

        Assert.Null(SignalRules.Validate(signals, Path, MaxExtra));
    }

    [Theory]
    [InlineData("speed", -0.1, "must be between 0 and 500")]
    [InlineData("speed", 500.1, "must be between 0 and 500")]
    [InlineData("latitude", -90.5, "must be between -90 and 90")]
    [InlineData("latitude", 91, "must be between -90 and 90")]
    [InlineData("longitude", -181, "must be between -180 and 180")]
    [InlineData("longitude", 180.01, "must be between -180 and 180")]
    [InlineData("heading", -1, "must be between 0 and 360")]
    [InlineData("heading", 361, "must be between 0 and 360")]
    [InlineData("altitude", 10_001, "must be between -1000 and 10000")]
    [InlineData("state_of_charge", -1, "must be between 0 and 100")]
    [InlineData("state_of_charge", 100.5, "must be between 0 and 100")]
    [InlineData("range", -1, "must be between 0 and 5000000")]
    [InlineData("traveled_distance", -0.5, "must be between 0 and 10000000")]
    [InlineData("charge_limit", 101, "must be between 0 and 100")]
    [InlineData("ambient_air_temperature", -101, "must be between -100 and 100")]
    [InlineData("exterior_air_temperature", 150, "must be between -100 and 100")]
    [InlineData("low_voltage_battery_voltage", -12, "must be between 0 and 100")]
    [InlineData("fuel_level", 120, "must be between 0 and 100")]
    public void Validate_WhenTypedFieldOutOfRange_NamesTheField(string field, double value, string message)
    {
        var signals = new Signals();
        Signals.Descriptor.FindFieldByName(field).Accessor.SetValue(signals, value);

        var error = SignalRules.Validate(signals, Path, MaxExtra);

        Assert.Equal(new ValidationError("status.signals." + field, message), error);
    }

    [Fact]
    public void Validate_EveryNumericTypedField_RejectsNaNAndInfinity()
    {
        var numericFields = Signals.Descriptor.Fields.InFieldNumberOrder().Where(f => f.FieldType == FieldType.Double).ToList();

        Assert.Equal(13, numericFields.Count);
        foreach (var field in numericFields)
        {
            foreach (var value in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
            {
                var signals = new Signals();
                field.Accessor.SetValue(signals, value);

                var error = SignalRules.Validate(signals, Path, MaxExtra);

                Assert.Equal(new ValidationError("status.signals." + field.Name, "must be a finite number"), error);
            }
        }
    }

    [Fact]
    public void Validate_WhenEnumValueUnknown_NamesTheField()
    {
        var doors = new Signals { DoorLockState = (DoorLockState)9 };
        var ignition = new Signals { LowVoltageSystemState = (LowVoltageSystemState)42 };

        Assert.Equal(new ValidationError("status.signals.door_lock_state", "has unknown value 9"), SignalRules.Validate(doors, Path, MaxExtra));
        Assert.Equal(
            new ValidationError("status.signals.low_voltage_system_state", "has unknown value 42"),
            SignalRules.Validate(ignition, Path, MaxExtra));
    }

    [Fact]
    public void Validate_WhenExtraWellFormed_IsValid()
    {
        var signals = new Signals();
        signals.Extra.Add("Vehicle.Cabin.Door.Row1.DriverSide.IsOpen", new SignalValue { BoolValue = true });
        signals.Extra.Add("Vehicle.Body.Lights.Beam.Low.IsOn", new SignalValue { BoolValue = false });
        signals.Extra.Add("Vehicle.Cabin.Infotainment.Media.Volume", new SignalValue { IntValue = 30 });
        signals.Extra.Add("Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure", new SignalValue { DoubleValue = 240.5 });
        signals.Extra.Add("Vehicle.VehicleIdentification.Brand", new SignalValue { StringValue = new string('x', 1024) });

        Assert.Null(SignalRules.Validate(signals, Path, MaxExtra));
    }

    [Fact]
    public void Validate_WhenExtraHasTooManyEntries_Fails()
    {
        var signals = new Signals();
        for (var i = 0; i < 3; i++)
        {
            signals.Extra.Add($"Vehicle.Custom.Signal{i}", new SignalValue { IntValue = i });
        }

        var error = SignalRules.Validate(signals, Path, maxExtraSignals: 2);

        Assert.Equal(new ValidationError("status.signals.extra", "must have at most 2 entries, got 3"), error);
        Assert.Null(SignalRules.Validate(signals, Path, maxExtraSignals: 3));
    }

    [Fact]
    public void Validate_WhenExtraKeyMalformed_NamesTheKey()
    {
        var signals = new Signals();
        signals.Extra.Add("speed", new SignalValue { DoubleValue = 1 });

        var error = SignalRules.Validate(signals, Path, MaxExtra);

        Assert.Equal(
            new ValidationError("status.signals.extra[\"speed\"]", "must be a full VSS path with at least two segments, like Vehicle.Speed"),
            error);
    }

    [Fact]
    public void Validate_WhenExtraRepeatsATypedField_Fails()
    {
        var signals = new Signals();
        signals.Extra.Add("Vehicle.CurrentLocation.Latitude", new SignalValue { DoubleValue = 1 });

        var error = SignalRules.Validate(signals, Path, MaxExtra);

        Assert.Equal(
            new ValidationError("status.signals.extra[\"Vehicle.CurrentLocation.Latitude\"]", "has a typed field in Signals: set that field instead"),
            error);
    }

    [Fact]
    public void Validate_WhenExtraValueEmpty_Fails()
    {
        var signals = new Signals();
        signals.Extra.Add("Vehicle.Custom.Thing", new SignalValue());

        Assert.Equal(
            new ValidationError("status.signals.extra[\"Vehicle.Custom.Thing\"]", "must have a value"),
            SignalRules.Validate(signals, Path, MaxExtra));
    }

    [Fact]
    public void Validate_WhenExtraDoubleNotFinite_Fails()
    {
        var signals = new Signals();
        signals.Extra.Add("Vehicle.Custom.Thing", new SignalValue { DoubleValue = double.NaN });

        Assert.Equal(
            new ValidationError("status.signals.extra[\"Vehicle.Custom.Thing\"]", "must be a finite number"),
            SignalRules.Validate(signals, Path, MaxExtra));
    }

    [Fact]
    public void Validate_WhenExtraStringTooLong_Fails()
    {
        var signals = new Signals();
        signals.Extra.Add("Vehicle.Custom.Thing", new SignalValue { StringValue = new string('x', 1025) });

        Assert.Equal(
            new ValidationError("status.signals.extra[\"Vehicle.Custom.Thing\"]", "must be at most 1024 characters, got 1025"),
            SignalRules.Validate(signals, Path, MaxExtra));
    }

    [Fact]
    public void VssPathsByField_CoversEveryTypedFieldOfSignals()
    {
        var typedFields = Signals.Descriptor.Fields.InFieldNumberOrder().Where(f => f.Name != "extra").Select(f => f.Name).Order();

        Assert.Equal(typedFields, SignalRules.VssPathsByField.Keys.Order());
    }
}
