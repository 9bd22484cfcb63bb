using Microsoft.Data.Sqlite;

namespace Vehicles.Persistence.Tests;

public sealed class SqliteGrainStorageTests : GrainStorageTests
{
    private readonly string _directory = TestDatabases.UniqueDirectory();

    protected override int MigrationCount => 2;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        TestDatabases.DeleteDirectory(_directory);
    }

    [Fact]
    public async Task InitializeAsync_CreatesDatabaseFileInDataDirectoryInWalMode()
    {
        var storage = (SqliteGrainStorage)Open();

        await storage.InitializeAsync();

        Assert.Equal(Path.Combine(_directory, "vehicles.db"), storage.DatabasePath);
        Assert.True(File.Exists(storage.DatabasePath));
        using var connection = new SqliteConnection($"Data Source={storage.DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public async Task WriteAsync_WhileAnotherConnectionHoldsTheWriteLockBriefly_WaitsAndSucceeds()
    {
        var storage = (SqliteGrainStorage)Open();
        await storage.InitializeAsync();
        using var other = new SqliteConnection($"Data Source={storage.DatabasePath};Pooling=False");
        other.Open();
        var lockHeld = other.BeginTransaction(deferred: false);

        var write = storage.WriteAsync(GrainType, "VIN1", Bytes("after lock"), expectedEtag: null);
        Assert.False(write.IsCompleted);
        lockHeld.Rollback();
        lockHeld.Dispose();
        var etag = await write;

        await AssertStoredAsync(storage, "VIN1", "after lock", etag);
    }

    protected override IGrainStorage CreateStorage(GrainStorageOptions options)
    {
        options.DataDirectory = _directory;
        return new SqliteGrainStorage(options);
    }

    protected override Task<long> CountAppliedMigrationsAsync()
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "vehicles.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_version;";
        return Task.FromResult((long)command.ExecuteScalar()!);
    }
}
