using System.Collections.Frozen;
using Vehicles.Api.V1;
using static System.FormattableString;

namespace Vehicles.Api.Validation;

/// <summary>
/// Validation of <see cref="Signals"/> and the VSS paths of its typed fields. Ranges are the ones documented in
/// signals.proto; they reject sensor garbage (NaN, a latitude of 900) without second-guessing plausible values.
/// </summary>
public static class SignalRules
{
    /// <summary>Longest string value in <c>Signals.extra</c>.</summary>
    public const int MaxStringValueLength = 1024;

    /// <summary>The VSS path of each typed field of <see cref="Signals"/>, keyed by proto field name.</summary>
    public static FrozenDictionary<string, string> VssPathsByField { get; } = new Dictionary<string, string>
    {
        ["speed"] = "Vehicle.Speed",
        ["latitude"] = "Vehicle.CurrentLocation.Latitude",
        ["longitude"] = "Vehicle.CurrentLocation.Longitude",
        ["heading"] = "Vehicle.CurrentLocation.Heading",
        ["altitude"] = "Vehicle.CurrentLocation.Altitude",
        ["state_of_charge"] = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
        ["range"] = "Vehicle.Powertrain.Range",
        ["traveled_distance"] = "Vehicle.TraveledDistance",
        ["is_charging"] = "Vehicle.Powertrain.TractionBattery.Charging.IsCharging",
        ["charge_limit"] = "Vehicle.Powertrain.TractionBattery.Charging.ChargeLimit",
        ["door_lock_state"] = "Vehicle.Cabin.Door.*.IsLocked",
        ["ambient_air_temperature"] = "Vehicle.Cabin.HVAC.AmbientAirTemperature",
        ["exterior_air_temperature"] = "Vehicle.Exterior.AirTemperature",
        ["low_voltage_system_state"] = "Vehicle.LowVoltageSystemState",
        ["low_voltage_battery_voltage"] = "Vehicle.LowVoltageBattery.CurrentVoltage",
        ["fuel_level"] = "Vehicle.Powertrain.FuelSystem.RelativeLevel",
        ["is_moving"] = "Vehicle.IsMoving",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenSet<string> _typedPaths = VssPathsByField.Values.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Checks every field that is set; <paramref name="path"/> is the path of the Signals message itself (for
    /// example <c>status.signals</c>). A missing message is valid: a report may carry no values.
    /// </summary>
    public static ValidationError? Validate(Signals? signals, string path, int maxExtraSignals)
    {
        if (signals is null)
        {
            return null;
        }

        return Range(signals.HasSpeed, signals.Speed, 0, 500, path, "speed")
            ?? Range(signals.HasLatitude, signals.Latitude, -90, 90, path, "latitude")
            ?? Range(signals.HasLongitude, signals.Longitude, -180, 180, path, "longitude")
            ?? Range(signals.HasHeading, signals.Heading, 0, 360, path, "heading")
            ?? Range(signals.HasAltitude, signals.Altitude, -1000, 10_000, path, "altitude")
            ?? Range(signals.HasStateOfCharge, signals.StateOfCharge, 0, 100, path, "state_of_charge")
            ?? Range(signals.HasRange, signals.Range, 0, 5_000_000, path, "range")
            ?? Range(signals.HasTraveledDistance, signals.TraveledDistance, 0, 10_000_000, path, "traveled_distance")
            ?? Range(signals.HasChargeLimit, signals.ChargeLimit, 0, 100, path, "charge_limit")
            ?? Defined(signals.DoorLockState, path, "door_lock_state")
            ?? Range(signals.HasAmbientAirTemperature, signals.AmbientAirTemperature, -100, 100, path, "ambient_air_temperature")
            ?? Range(signals.HasExteriorAirTemperature, signals.ExteriorAirTemperature, -100, 100, path, "exterior_air_temperature")
            ?? Defined(signals.LowVoltageSystemState, path, "low_voltage_system_state")
            ?? Range(signals.HasLowVoltageBatteryVoltage, signals.LowVoltageBatteryVoltage, 0, 100, path, "low_voltage_battery_voltage")
            ?? Range(signals.HasFuelLevel, signals.FuelLevel, 0, 100, path, "fuel_level")
            ?? Extra(signals, path, maxExtraSignals);
    }

    private static ValidationError? Range(bool isSet, double value, double min, double max, string path, string field) =>
        // The negated comparison is also true for NaN; the path string is built only on failure.
        isSet && !(value >= min && value <= max)
            ? FieldRules.InRange(value, min, max, FieldPath.Join(path, field))
            : null;

    private static ValidationError? Defined<TEnum>(TEnum value, string path, string field)
        where TEnum : struct, Enum =>
        Enum.IsDefined(value)
            ? null
            : new ValidationError(FieldPath.Join(path, field), Invariant($"has unknown value {Convert.ToInt32(value, null)}"));

    private static ValidationError? Extra(Signals signals, string path, int maxExtraSignals)
    {
        var extra = signals.Extra;
        if (extra.Count == 0)
        {
            return null;
        }

        if (extra.Count > maxExtraSignals)
        {
            return new ValidationError(
                FieldPath.Join(path, "extra"),
                Invariant($"must have at most {maxExtraSignals} entries, got {extra.Count}"));
        }

        foreach (var (key, value) in extra)
        {
            // The field path is built only on failure: this runs for every report of every vehicle.
            var problem = FieldRules.VssPathProblem(key)
                ?? (_typedPaths.Contains(key) ? "has a typed field in Signals: set that field instead" : null)
                ?? Value(value);
            if (problem is not null)
            {
                return new ValidationError(FieldPath.MapKey(FieldPath.Join(path, "extra"), key), problem);
            }
        }

        return null;
    }

    private static string? Value(SignalValue? value)
    {
        switch (value?.ValueCase ?? SignalValue.ValueOneofCase.None)
        {
            case SignalValue.ValueOneofCase.None:
                return "must have a value";
            case SignalValue.ValueOneofCase.DoubleValue when !double.IsFinite(value!.DoubleValue):
                return "must be a finite number";
            case SignalValue.ValueOneofCase.StringValue when value!.StringValue.Length > MaxStringValueLength:
                return Invariant($"must be at most {MaxStringValueLength} characters, got {value.StringValue.Length}");
            default:
                return null;
        }
    }
}
