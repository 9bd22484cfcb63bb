namespace Vehicles.Cluster.Tests;

internal static class TestServers
{
    public static string Postgres => Require("VEHICLES_TEST_POSTGRES", "a PostgreSQL connection string, e.g. Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres");

    public static string Redis => Require("VEHICLES_TEST_REDIS", "a Redis endpoint, e.g. 127.0.0.1:56379");

    public static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..12];

    private static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException($"{variable} is not set: server-backed cluster tests need {what} (scripts/ start the test servers and set it).");
        }

        return value;
    }
}
