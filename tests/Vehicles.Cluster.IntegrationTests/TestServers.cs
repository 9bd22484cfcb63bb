namespace Vehicles.Cluster.IntegrationTests;

/// <summary>The real PostgreSQL and Redis the cluster runs on; a test fails with a clear message when they are not set.</summary>
internal static class TestServers
{
    public static string Postgres => Require("VEHICLES_TEST_POSTGRES", "PostgreSQL");

    public static string Redis => Require("VEHICLES_TEST_REDIS", "Redis");

    private static string Require(string variable, string server) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(variable + " is not set: run scripts/test.sh, which starts " + server + " and sets it.");
}
