using Google.Protobuf.Reflection;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// Parameters of the python script's call and stream cases for one method, with its path and message type names taken
/// from the compiled descriptors. Tests add keys: "timeout" (seconds), "metadata" ([key, value] pairs), "gzip", "take",
/// "pad" ({"field", "size"}).
/// </summary>
internal static class ApiCall
{
    public static Dictionary<string, object?> For(ServiceDescriptor service, string method, object? request = null, string? token = null)
    {
        var descriptor = service.FindMethodByName(method) ?? throw new ArgumentException($"{service.FullName} has no method {method}.", nameof(method));
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["method"] = $"/{service.FullName}/{descriptor.Name}",
            ["kind"] = descriptor.IsClientStreaming ? "stream_stream" : "unary_stream",
            ["request_type"] = descriptor.InputType.FullName,
            ["response_type"] = descriptor.OutputType.FullName,
            ["request"] = request,
            ["token"] = token,
        };
    }

    public static Dictionary<string, object?> With(this Dictionary<string, object?> parameters, string key, object? value)
    {
        parameters[key] = value;
        return parameters;
    }

    /// <summary>Request metadata, sent in this order; values of keys ending in -bin are base64.</summary>
    public static Dictionary<string, object?> WithMetadata(this Dictionary<string, object?> parameters, params (string Key, string Value)[] pairs) =>
        parameters.With("metadata", pairs.Select(p => new[] { p.Key, p.Value }).ToArray());
}

/// <summary>VINs no other test uses: valid ISO 3779 characters (the silo does not verify the check digit by default).</summary>
internal static class Vins
{
    private static long _next = Random.Shared.NextInt64(1_000_000_000, 8_000_000_000);

    public static string Next() => "1VWTEST" + Interlocked.Increment(ref _next).ToString("D10", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Status reports as the python script's JSON (proto field names; Timestamps in RFC 3339).</summary>
internal static class Reports
{
    public static object Status(long sequence, double speed) => new
    {
        sequence,
        capture_time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        signals = new { speed },
    };
}
