namespace Vehicles.Redis.Tests;

internal static class TestServers
{
    public static string Redis => Require("VEHICLES_TEST_REDIS", "a Redis endpoint, e.g. 127.0.0.1:56379");

    public static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..12];

    private static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException($"{variable} is not set: server-backed Redis tests need {what} (scripts/servers.sh starts the test servers and prints it).");
        }

        return value;
    }
}
