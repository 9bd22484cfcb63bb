using Npgsql;

namespace Vehicles.Persistence.Tests;

/// <summary>Where the server-backed tests find their databases.</summary>
internal static class TestDatabases
{
    public const string PostgresVariable = "VEHICLES_TEST_POSTGRES";

    /// <summary>The test PostgreSQL server; a missing setting fails the test rather than skipping it.</summary>
    public static string PostgresConnectionString =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{PostgresVariable} is not set: start the test servers (scripts/servers.sh start) and export the settings it prints.");

    public static NpgsqlDataSource CreatePostgresDataSource(int maxPoolSize = 20)
    {
        var builder = new NpgsqlDataSourceBuilder(PostgresConnectionString);
        builder.ConnectionStringBuilder.MaxPoolSize = maxPoolSize;
        return builder.Build();
    }

    /// <summary>A schema name no other test uses, so tests run in parallel on one server.</summary>
    public static string UniqueSchema() => "persistence_test_" + Guid.NewGuid().ToString("N");

    public static async Task DropSchemaAsync(NpgsqlDataSource dataSource, string schema)
    {
        await using var command = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A fresh folder for one test's SQLite file.</summary>
    public static string UniqueDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "vehicles-persistence-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the test for it is not.
        }
    }
}
