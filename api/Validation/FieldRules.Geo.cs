using static System.FormattableString;

namespace Vehicles.Api.Validation;

/// <summary>The rules of FindNearbyVehicles' search area and result count.</summary>
public static partial class FieldRules
{
    /// <summary>Largest search radius of FindNearbyVehicles, in kilometres.</summary>
    public const double MaxNearbyRadiusKm = 1000;

    /// <summary>Vehicles FindNearbyVehicles returns when max_results is 0.</summary>
    public const int DefaultNearbyResults = 100;

    /// <summary>Most vehicles FindNearbyVehicles returns.</summary>
    public const int MaxNearbyResults = 1000;

    /// <summary>A search radius in kilometres: finite, greater than 0 and at most <see cref="MaxNearbyRadiusKm"/>.</summary>
    public static ValidationError? RadiusKm(double radiusKm, string field)
    {
        if (double.IsNaN(radiusKm) || double.IsInfinity(radiusKm))
        {
            return new ValidationError(field, "must be a finite number");
        }

        return radiusKm > 0 && radiusKm <= MaxNearbyRadiusKm
            ? null
            : new ValidationError(field, Invariant($"must be greater than 0 and at most {MaxNearbyRadiusKm} km, got {radiusKm}"));
    }

    /// <summary>A requested result count: 0 (the default, <see cref="DefaultNearbyResults"/>) to <see cref="MaxNearbyResults"/>.</summary>
    public static ValidationError? NearbyResults(int maxResults, string field) =>
        maxResults is >= 0 and <= MaxNearbyResults
            ? null
            : new ValidationError(field, Invariant($"must be between 0 and {MaxNearbyResults} (0 for the default, {DefaultNearbyResults}), got {maxResults}"));

    /// <summary>The result count to serve for a value that passed <see cref="NearbyResults"/>.</summary>
    public static int EffectiveNearbyResults(int maxResults) => maxResults <= 0 ? DefaultNearbyResults : Math.Min(maxResults, MaxNearbyResults);
}
