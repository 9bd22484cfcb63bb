namespace Vehicles.Grpc.InteropTests;

/// <summary>Short reads of the python script's JSON results.</summary>
internal static class JsonAssertions
{
    public static string? Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.GetString()
            : throw new Xunit.Sdk.XunitException($"The result has no '{name}': {element}");

    public static List<string?> Strings(this JsonElement element, string name) =>
        [.. element.GetProperty(name).EnumerateArray().Select(e => e.GetString())];

    /// <summary>Metadata as [key, value] pairs (binary values base64-encoded by the script).</summary>
    public static List<(string Key, string Value)> Pairs(this JsonElement element, string name) =>
        [.. element.GetProperty(name).EnumerateArray().Select(e => (e[0].GetString()!, e[1].GetString()!))];
}
