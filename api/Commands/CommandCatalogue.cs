using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;
using static System.FormattableString;

namespace Vehicles.Api.Commands;

/// <summary>
/// The commands a vehicle understands. A name that is not here is refused before it reaches a vehicle, and every
/// entry owns the rules for its typed parameters.
/// </summary>
public sealed class CommandCatalogue
{
    /// <summary>Longest configuration key for update_config.</summary>
    public const int MaxConfigKeyLength = 128;

    /// <summary>Longest configuration value for update_config.</summary>
    public const int MaxConfigValueLength = 1024;

    private readonly FrozenDictionary<string, CommandDefinition> _byName;
    private readonly string _names;

    internal CommandCatalogue(IEnumerable<CommandDefinition> definitions)
    {
        Commands = [.. definitions];
        _byName = Commands.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);
        _names = string.Join(", ", Commands.Select(d => d.Name));
    }

    /// <summary>The catalogue of vehicles.v1: one entry per case of <see cref="CommandParameters"/>.</summary>
    public static CommandCatalogue Default { get; } = new(
    [
        new("lock_doors", CommandParameters.ParamsOneofCase.LockDoors, "Lock every door.", TimeSpan.FromMinutes(10)),
        // Unlocking late is a security risk, so it expires quickly unless asked otherwise.
        new("unlock_doors", CommandParameters.ParamsOneofCase.UnlockDoors, "Unlock every door.", TimeSpan.FromMinutes(2)),
        new("start_charging", CommandParameters.ParamsOneofCase.StartCharging, "Start charging if a charger is connected.", TimeSpan.FromHours(1)),
        new("stop_charging", CommandParameters.ParamsOneofCase.StopCharging, "Stop charging.", TimeSpan.FromHours(1)),
        new(
            "set_charge_limit",
            CommandParameters.ParamsOneofCase.SetChargeLimit,
            "Set the charge level at which charging stops (50..100 percent).",
            TimeSpan.FromDays(1),
            requiresParameters: true,
            validateParameters: static (p, path) =>
                FieldRules.InRange(p.SetChargeLimit.Percent, 50, 100, FieldPath.Join(path, "percent"))),
        new(
            "set_climate",
            CommandParameters.ParamsOneofCase.SetClimate,
            "Start climate control towards a cabin temperature (15..30 degrees Celsius).",
            TimeSpan.FromMinutes(15),
            requiresParameters: true,
            validateParameters: static (p, path) =>
                FieldRules.InRange(p.SetClimate.TargetCelsius, 15, 30, FieldPath.Join(path, "target_celsius"))),
        new("stop_climate", CommandParameters.ParamsOneofCase.StopClimate, "Stop climate control.", TimeSpan.FromMinutes(15)),
        new(
            "flash_lights",
            CommandParameters.ParamsOneofCase.FlashLights,
            "Flash the exterior lights (1..10 times).",
            TimeSpan.FromMinutes(1),
            validateParameters: static (p, path) =>
                p.FlashLights.HasTimes ? FieldRules.InRange(p.FlashLights.Times, 1, 10, FieldPath.Join(path, "times")) : null),
        new(
            "honk_horn",
            CommandParameters.ParamsOneofCase.HonkHorn,
            "Sound the horn (1..5 times).",
            TimeSpan.FromMinutes(1),
            validateParameters: static (p, path) =>
                p.HonkHorn.HasTimes ? FieldRules.InRange(p.HonkHorn.Times, 1, 5, FieldPath.Join(path, "times")) : null),
        new("locate", CommandParameters.ParamsOneofCase.Locate, "Report the current location at once.", TimeSpan.FromMinutes(5)),
        // Configuration changes what the vehicle reports and how: admins only.
        new(
            "update_config",
            CommandParameters.ParamsOneofCase.UpdateConfig,
            "Set one vehicle configuration value.",
            TimeSpan.FromDays(7),
            requiresParameters: true,
            requiredRole: OperatorRole.Admin,
            validateParameters: static (p, path) =>
                ConfigKey(p.UpdateConfig.Key, FieldPath.Join(path, "key"))
                ?? FieldRules.MaxLength(p.UpdateConfig.Value, MaxConfigValueLength, FieldPath.Join(path, "value"))),
    ]);

    /// <summary>Every command, in catalogue order.</summary>
    public IReadOnlyList<CommandDefinition> Commands { get; }

    /// <summary>Looks a command up by its exact (case-sensitive) name.</summary>
    public bool TryGet(string? name, [NotNullWhen(true)] out CommandDefinition? definition)
    {
        if (name is null)
        {
            definition = null;
            return false;
        }

        return _byName.TryGetValue(name, out definition);
    }

    /// <summary>
    /// Checks a command name and its parameters together: the name must be in the catalogue and the parameters
    /// must follow its rules. Field paths are <paramref name="nameField"/> and below <paramref name="parametersField"/>.
    /// </summary>
    public ValidationError? Validate(string? name, CommandParameters? parameters, string nameField = "name", string parametersField = "parameters")
    {
        if (string.IsNullOrEmpty(name))
        {
            return new ValidationError(nameField, "is required");
        }

        if (!_byName.TryGetValue(name, out var definition))
        {
            return new ValidationError(nameField, Invariant($"'{Printable(name)}' is not a known command: use one of {_names}"));
        }

        return definition.ValidateParameters(parameters, parametersField);
    }

    // Lower-case dotted keys, so vehicles can map them onto their own settings tree without escaping.
    private static ValidationError? ConfigKey(string key, string field)
    {
        if (key.Length == 0)
        {
            return new ValidationError(field, "is required");
        }

        if (key.Length > MaxConfigKeyLength)
        {
            return new ValidationError(field, Invariant($"must be at most {MaxConfigKeyLength} characters, got {key.Length}"));
        }

        var segmentStart = true;
        foreach (var c in key)
        {
            var ok = c == '.' ? !segmentStart : segmentStart ? char.IsAsciiLetterLower(c) : char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_';
            if (!ok)
            {
                return new ValidationError(
                    field,
                    "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter");
            }

            segmentStart = c == '.';
        }

        return segmentStart
            ? new ValidationError(field, "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter")
            : null;
    }

    // Echo the name only when it is short and printable: it goes back to the caller and into logs.
    private static string Printable(string name)
    {
        if (name.AsSpan().IndexOfAnyExceptInRange(' ', '~') >= 0)
        {
            return "(non-printable name)";
        }

        return name.Length <= 64 ? name : name[..64] + "...";
    }
}
