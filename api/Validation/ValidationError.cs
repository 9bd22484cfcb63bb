namespace Vehicles.Api.Validation;

/// <summary>
/// Why a request was rejected: the path of the offending field in proto (snake_case) names, and what is wrong
/// with it. Validators return <see langword="null"/> for a valid value, so checks chain with <c>??</c> and
/// stop at the first error.
/// </summary>
/// <param name="Field">Path of the field, for example <c>status.signals.latitude</c> or
/// <c>status.signals.extra["Vehicle.Cabin.IsOpen"]</c>.</param>
/// <param name="Message">What is wrong, phrased to follow the field, for example
/// <c>must be between -90 and 90</c>.</param>
public sealed record ValidationError(string Field, string Message)
{
    /// <summary>The error as one line, <c>field: message</c>, ready for a gRPC status detail.</summary>
    public override string ToString() => Field + ": " + Message;
}
