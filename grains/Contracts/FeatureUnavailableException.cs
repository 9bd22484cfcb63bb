namespace Vehicles.Grains;

/// <summary>
/// A feature that depends on an external service (Redis in a cluster) is unavailable right now. Only that feature is
/// affected; the api maps it to gRPC UNAVAILABLE, and the feature recovers by itself when the service returns.
/// </summary>
public sealed class FeatureUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FeatureUnavailableException()
        : this("unknown", "The feature is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public FeatureUnavailableException(string message)
        : this("unknown", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public FeatureUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
        Feature = "unknown";
    }

    /// <summary>Creates the exception for <paramref name="feature"/>.</summary>
    public FeatureUnavailableException(string feature, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Feature = feature;
    }

    /// <summary>The feature that is unavailable, such as <c>geo</c>.</summary>
    public string Feature { get; }
}
