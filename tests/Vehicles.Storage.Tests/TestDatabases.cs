using Microsoft.Data.Sqlite;
using Npgsql;

namespace Vehicles.Storage.Tests;

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

    /// <summary>A schema name no other test uses, so tests run in parallel on one server.</summary>
    public static string UniqueSchema() => "storage_test_" + Guid.NewGuid().ToString("N");

    public static VehicleStorageOptions Postgres(string schema) => new()
    {
        Provider = VehicleStorageProvider.PostgreSql,
        ConnectionString = PostgresConnectionString,
        Schema = schema,
    };

    public static VehicleStorageOptions Sqlite(string directory) => new()
    {
        Provider = VehicleStorageProvider.Sqlite,
        DataDirectory = directory,
        BusyTimeout = TimeSpan.FromSeconds(5),
    };

    public static async Task DropSchemaAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> PostgresScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<object?> SqliteScalarAsync(string directory, string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "vehicles.db"),
            Pooling = false,
        }.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    /// <summary>A fresh folder for one test's SQLite file (created by the code under test when missing).</summary>
    public static string UniqueDirectory() =>
        Path.Combine(Path.GetTempPath(), "vehicles-storage-tests", Guid.NewGuid().ToString("N"));

    public static void DeleteDirectory(string path)
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the test for it is not.
        }
    }
}
