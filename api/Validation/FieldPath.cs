namespace Vehicles.Api.Validation;

/// <summary>Builds field paths for <see cref="ValidationError"/>; only called once a check has failed.</summary>
internal static class FieldPath
{
    public static string Join(string prefix, string field) => prefix.Length == 0 ? field : prefix + "." + field;

    public static string MapKey(string prefix, string key) => prefix + "[\"" + key + "\"]";
}
