using Microsoft.Data.Sqlite;

namespace Vehicles.EndToEnd.Tests;

/// <summary>
/// Breaks a running silo's SQLite storage as a damaged database would, through the database alone: the grain state
/// table is renamed away, so every read of it fails, until this is disposed and the table is back.
/// </summary>
internal sealed class BrokenStorage : IAsyncDisposable
{
    private readonly string _connectionString;

    private BrokenStorage(string connectionString) => _connectionString = connectionString;

    public static async Task<BrokenStorage> BreakAsync(TestSilo silo)
    {
        var connection = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(silo.DataDirectory, "vehicles.db"),
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
        };
        var broken = new BrokenStorage(connection.ConnectionString);
        await broken.ExecuteAsync("ALTER TABLE grain_state RENAME TO grain_state_away;");
        return broken;
    }

    public async ValueTask DisposeAsync() => await ExecuteAsync("ALTER TABLE grain_state_away RENAME TO grain_state;");

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
