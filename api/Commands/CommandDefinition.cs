using Google.Protobuf.Reflection;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;

namespace Vehicles.Api.Commands;

/// <summary>
/// One entry of the <see cref="CommandCatalogue"/>: a command name, the <see cref="CommandParameters"/> case that
/// carries its typed parameters, and the rules those parameters must follow.
/// </summary>
public sealed class CommandDefinition
{
    private readonly Func<CommandParameters, string, ValidationError?>? _validateParameters;

    internal CommandDefinition(
        string name,
        CommandParameters.ParamsOneofCase parametersCase,
        string description,
        TimeSpan defaultTtl,
        bool requiresParameters = false,
        OperatorRole requiredRole = OperatorRole.Operator,
        Func<CommandParameters, string, ValidationError?>? validateParameters = null)
    {
        var caseField = CommandParameters.Descriptor.FindFieldByNumber((int)parametersCase);
        if (caseField is null || caseField.Name != name)
        {
            throw new ArgumentException($"Command {name} must map to the CommandParameters case of the same name.", nameof(parametersCase));
        }

        Name = name;
        ParametersCase = parametersCase;
        Description = description;
        DefaultTtl = defaultTtl;
        RequiresParameters = requiresParameters;
        RequiredRole = requiredRole;
        _validateParameters = validateParameters;
    }

    /// <summary>The command name, as sent in SendCommandRequest.name (snake_case, for example <c>set_charge_limit</c>).</summary>
    public string Name { get; }

    /// <summary>The <see cref="CommandParameters"/> case that carries this command's parameters.</summary>
    public CommandParameters.ParamsOneofCase ParametersCase { get; }

    /// <summary>What the command does, for CLIs and documentation.</summary>
    public string Description { get; }

    /// <summary>
    /// Time to live when the request sets none: short for actions that are wrong to carry out late (honking,
    /// unlocking), long for settings.
    /// </summary>
    public TimeSpan DefaultTtl { get; }

    /// <summary>Whether the parameters must be present; when false an unset <see cref="CommandParameters"/> is valid.</summary>
    public bool RequiresParameters { get; }

    /// <summary>Least operator role allowed to send the command.</summary>
    public OperatorRole RequiredRole { get; }

    /// <summary>
    /// Checks that <paramref name="parameters"/> set this command's case (or none, when allowed) and that the
    /// values are in range. <paramref name="field"/> is the path of the parameters message, for example
    /// <c>parameters</c>; errors name the leaf, for example <c>parameters.set_charge_limit.percent</c>.
    /// </summary>
    public ValidationError? ValidateParameters(CommandParameters? parameters, string field)
    {
        var actual = parameters?.ParamsCase ?? CommandParameters.ParamsOneofCase.None;
        if (actual == CommandParameters.ParamsOneofCase.None)
        {
            return RequiresParameters ? new ValidationError(FieldPath.Join(field, Name), "is required") : null;
        }

        if (actual != ParametersCase)
        {
            return new ValidationError(field, $"must set {Name} to match the command name, not {CaseName(actual)}");
        }

        return _validateParameters?.Invoke(parameters!, FieldPath.Join(field, Name));
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    internal static string CaseName(CommandParameters.ParamsOneofCase parametersCase) =>
        CommandParameters.Descriptor.FindFieldByNumber((int)parametersCase) is FieldDescriptor field
            ? field.Name
            : "field " + (int)parametersCase;
}
