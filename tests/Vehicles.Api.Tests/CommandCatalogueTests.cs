using Vehicles.Api.Commands;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Tests;

public sealed class CommandCatalogueTests
{
    private static readonly CommandCatalogue _catalogue = CommandCatalogue.Default;

    [Fact]
    public void Default_HasOneEntryPerParametersCase()
    {
        var cases = CommandParameters.Descriptor.Oneofs.Single().Fields.Select(f => f.Name).Order();

        Assert.Equal(cases, _catalogue.Commands.Select(c => c.Name).Order());
        Assert.All(_catalogue.Commands, c => Assert.Equal(c.Name, CommandParameters.Descriptor.FindFieldByNumber((int)c.ParametersCase).Name));
    }

    [Fact]
    public void Default_ListsTheBriefedCommands()
    {
        string[] expected =
        [
            "lock_doors", "unlock_doors", "start_charging", "stop_charging", "set_charge_limit", "set_climate",
            "stop_climate", "flash_lights", "honk_horn", "locate", "update_config",
        ];

        Assert.Equal(expected, _catalogue.Commands.Select(c => c.Name));
    }

    [Fact]
    public void TryGet_IsCaseSensitiveAndHandlesNull()
    {
        Assert.True(_catalogue.TryGet("lock_doors", out var definition));
        Assert.Equal(CommandParameters.ParamsOneofCase.LockDoors, definition.ParametersCase);
        Assert.False(_catalogue.TryGet("LOCK_DOORS", out _));
        Assert.False(_catalogue.TryGet(null, out _));
    }

    [Theory]
    [InlineData("lock_doors")]
    [InlineData("unlock_doors")]
    [InlineData("start_charging")]
    [InlineData("stop_charging")]
    [InlineData("stop_climate")]
    [InlineData("flash_lights")]
    [InlineData("honk_horn")]
    [InlineData("locate")]
    public void Validate_WhenCommandHasNoRequiredParametersAndNoneSent_IsValid(string name)
    {
        Assert.Null(_catalogue.Validate(name, null));
        Assert.Null(_catalogue.Validate(name, new CommandParameters()));
    }

    [Theory]
    [InlineData("set_charge_limit")]
    [InlineData("set_climate")]
    [InlineData("update_config")]
    public void Validate_WhenRequiredParametersMissing_Fails(string name)
    {
        Assert.Equal(new ValidationError("parameters." + name, "is required"), _catalogue.Validate(name, null));
    }

    [Fact]
    public void Validate_WhenNameMissingOrUnknown_Fails()
    {
        Assert.Equal(new ValidationError("name", "is required"), _catalogue.Validate("", null));
        Assert.Equal(new ValidationError("name", "is required"), _catalogue.Validate(null, null));

        var unknown = _catalogue.Validate("self_destruct", null);

        Assert.Equal(
            new ValidationError(
                "name",
                "'self_destruct' is not a known command: use one of lock_doors, unlock_doors, start_charging, stop_charging, "
                + "set_charge_limit, set_climate, stop_climate, flash_lights, honk_horn, locate, update_config"),
            unknown);
    }

    [Fact]
    public void Validate_WhenUnknownNameIsLongOrNotPrintable_DoesNotEchoItVerbatim()
    {
        var longName = new string('x', 100);

        var tooLong = _catalogue.Validate(longName, null);
        var binary = _catalogue.Validate("lock\u0000doors", null);

        Assert.StartsWith($"'{new string('x', 64)}...' is not a known command", tooLong?.Message, StringComparison.Ordinal);
        Assert.StartsWith("'(non-printable name)' is not a known command", binary?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenParametersCaseDoesNotMatchName_Fails()
    {
        var parameters = new CommandParameters { UnlockDoors = new UnlockDoorsParameters() };

        var error = _catalogue.Validate("lock_doors", parameters);

        Assert.Equal(new ValidationError("parameters", "must set lock_doors to match the command name, not unlock_doors"), error);
    }

    [Theory]
    [InlineData(50u)]
    [InlineData(80u)]
    [InlineData(100u)]
    public void SetChargeLimit_WhenPercentInRange_IsValid(uint percent)
    {
        var parameters = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = percent } };

        Assert.Null(_catalogue.Validate("set_charge_limit", parameters));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(49u)]
    [InlineData(101u)]
    public void SetChargeLimit_WhenPercentOutOfRange_Fails(uint percent)
    {
        var parameters = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = percent } };

        Assert.Equal(
            new ValidationError("parameters.set_charge_limit.percent", "must be between 50 and 100"),
            _catalogue.Validate("set_charge_limit", parameters));
    }

    [Theory]
    [InlineData(15.0)]
    [InlineData(21.5)]
    [InlineData(30.0)]
    public void SetClimate_WhenTargetInRange_IsValid(double target)
    {
        var parameters = new CommandParameters { SetClimate = new SetClimateParameters { TargetCelsius = target } };

        Assert.Null(_catalogue.Validate("set_climate", parameters));
    }

    [Theory]
    [InlineData(14.9, "must be between 15 and 30")]
    [InlineData(30.1, "must be between 15 and 30")]
    [InlineData(0.0, "must be between 15 and 30")]
    [InlineData(double.NaN, "must be a finite number")]
    public void SetClimate_WhenTargetOutOfRange_Fails(double target, string message)
    {
        var parameters = new CommandParameters { SetClimate = new SetClimateParameters { TargetCelsius = target } };

        Assert.Equal(new ValidationError("parameters.set_climate.target_celsius", message), _catalogue.Validate("set_climate", parameters));
    }

    [Fact]
    public void FlashLights_ChecksTimesOnlyWhenSet()
    {
        CommandParameters With(uint? times)
        {
            var p = new FlashLightsParameters();
            if (times is { } t)
            {
                p.Times = t;
            }

            return new CommandParameters { FlashLights = p };
        }

        Assert.Null(_catalogue.Validate("flash_lights", With(null)));
        Assert.Null(_catalogue.Validate("flash_lights", With(1)));
        Assert.Null(_catalogue.Validate("flash_lights", With(10)));
        Assert.Equal(new ValidationError("parameters.flash_lights.times", "must be between 1 and 10"), _catalogue.Validate("flash_lights", With(0)));
        Assert.Equal(new ValidationError("parameters.flash_lights.times", "must be between 1 and 10"), _catalogue.Validate("flash_lights", With(11)));
    }

    [Fact]
    public void HonkHorn_ChecksTimesOnlyWhenSet()
    {
        Assert.Null(_catalogue.Validate("honk_horn", new CommandParameters { HonkHorn = new HonkHornParameters() }));
        Assert.Null(_catalogue.Validate("honk_horn", new CommandParameters { HonkHorn = new HonkHornParameters { Times = 5 } }));
        Assert.Equal(
            new ValidationError("parameters.honk_horn.times", "must be between 1 and 5"),
            _catalogue.Validate("honk_horn", new CommandParameters { HonkHorn = new HonkHornParameters { Times = 6 } }));
        Assert.Equal(
            new ValidationError("parameters.honk_horn.times", "must be between 1 and 5"),
            _catalogue.Validate("honk_horn", new CommandParameters { HonkHorn = new HonkHornParameters { Times = 0 } }));
    }

    [Theory]
    [InlineData("telemetry.report_interval_seconds", "30")]
    [InlineData("wifi", "")]
    [InlineData("a.b2.c_d", "x")]
    public void UpdateConfig_WhenKeyAndValueWellFormed_IsValid(string key, string value)
    {
        var parameters = new CommandParameters { UpdateConfig = new UpdateConfigParameters { Key = key, Value = value } };

        Assert.Null(_catalogue.Validate("update_config", parameters));
    }

    [Theory]
    [InlineData("", "is required")]
    [InlineData("Telemetry.rate", "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter")]
    [InlineData("telemetry..rate", "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter")]
    [InlineData("telemetry.", "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter")]
    [InlineData(".telemetry", "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter")]
    [InlineData("telemetry.1rate", "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter")]
    [InlineData("tele-metry", "must be dot-separated segments of lower-case letters, digits and '_', each starting with a letter")]
    public void UpdateConfig_WhenKeyMalformed_Fails(string key, string message)
    {
        var parameters = new CommandParameters { UpdateConfig = new UpdateConfigParameters { Key = key, Value = "1" } };

        Assert.Equal(new ValidationError("parameters.update_config.key", message), _catalogue.Validate("update_config", parameters));
    }

    [Fact]
    public void UpdateConfig_WhenKeyOrValueTooLong_Fails()
    {
        var longKey = new CommandParameters { UpdateConfig = new UpdateConfigParameters { Key = new string('k', 129), Value = "1" } };
        var longValue = new CommandParameters { UpdateConfig = new UpdateConfigParameters { Key = "k", Value = new string('v', 1025) } };

        Assert.Equal(
            new ValidationError("parameters.update_config.key", "must be at most 128 characters, got 129"),
            _catalogue.Validate("update_config", longKey));
        Assert.Equal(
            new ValidationError("parameters.update_config.value", "must be at most 1024 characters, got 1025"),
            _catalogue.Validate("update_config", longValue));
    }

    [Fact]
    public void Validate_UsesTheGivenFieldPaths()
    {
        var parameters = new CommandParameters { SetChargeLimit = new SetChargeLimitParameters { Percent = 10 } };

        var error = _catalogue.Validate("set_charge_limit", parameters, "command.name", "command.parameters");

        Assert.Equal(new ValidationError("command.parameters.set_charge_limit.percent", "must be between 50 and 100"), error);
    }

    [Fact]
    public void Definitions_HaveDescriptionsSensibleTtlsAndRoles()
    {
        Assert.All(_catalogue.Commands, c =>
        {
            Assert.False(string.IsNullOrWhiteSpace(c.Description));
            Assert.InRange(c.DefaultTtl, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        });
        Assert.True(_catalogue.TryGet("unlock_doors", out var unlock));
        Assert.True(_catalogue.TryGet("update_config", out var config));
        Assert.Equal(TimeSpan.FromMinutes(2), unlock.DefaultTtl);
        Assert.Equal(OperatorRole.Admin, config.RequiredRole);
        Assert.Equal(
            ["update_config"],
            _catalogue.Commands.Where(c => c.RequiredRole != OperatorRole.Operator).Select(c => c.Name));
    }
}
