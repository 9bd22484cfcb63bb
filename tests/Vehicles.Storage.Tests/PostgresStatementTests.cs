using Npgsql;

namespace Vehicles.Storage.Tests;

/// <summary>
/// The membership statements a two-silo start does not run (gateway list, defunct cleanup, delete), run the way the
/// provider does: text from OrleansQuery, named parameters.
/// </summary>
public sealed class PostgresStatementTests : IAsyncLifetime
{
    private readonly string _schema = TestDatabases.UniqueSchema();
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(TestDatabases.PostgresConnectionString);

    public async Task InitializeAsync() => await VehicleSchema.EnsureAsync(TestDatabases.Postgres(_schema));

    public async Task DisposeAsync()
    {
        await TestDatabases.DropSchemaAsync(_schema);
        await _dataSource.DisposeAsync();
    }

    [Fact]
    public async Task MembershipStatements_InsertGatewaysCleanupDelete_BehaveAsTheProviderExpects()
    {
        var now = DateTime.UtcNow;

        var versionCreated = await RunAsync("InsertMembershipVersionKey", ("DeploymentId", "c1"));
        var versionAgain = await RunAsync("InsertMembershipVersionKey", ("DeploymentId", "c1"));
        var inserted = await RunAsync("InsertMembershipKey", Member("127.0.0.1", 11111, 1, status: 3, now, version: 0));
        var staleVersion = await RunAsync("InsertMembershipKey", Member("127.0.0.1", 11112, 1, status: 3, now, version: 0));
        var old = await RunAsync("InsertMembershipKey", Member("127.0.0.1", 11113, 1, status: 6, now.AddHours(-2), version: 1));
        var gateways = await CountAsync("GatewaysQueryKey", ("DeploymentId", "c1"), ("Status", 3));
        await RunAsync("CleanupDefunctSiloEntriesKey", ("DeploymentId", "c1"), ("IAmAliveTime", now.AddHours(-1)));
        var afterCleanup = await CountAsync("MembershipReadAllKey", ("DeploymentId", "c1"));
        await RunAsync("DeleteMembershipTableEntriesKey", ("DeploymentId", "c1"));
        var afterDelete = await TestDatabases.PostgresScalarAsync<long>($"SELECT COUNT(*) FROM \"{_schema}\".membership_version");

        Assert.Equal([1, 0, 1, 0, 1], new[] { versionCreated, versionAgain, inserted, staleVersion, old });
        Assert.Equal(1, gateways);
        Assert.Equal(1, afterCleanup);
        Assert.Equal(0L, afterDelete);
    }

    private static (string, object?)[] Member(string address, int port, int generation, int status, DateTime aliveAt, int version) =>
    [
        ("DeploymentId", "c1"), ("Address", address), ("Port", port), ("Generation", generation), ("SiloName", "silo"),
        ("HostName", "host"), ("Status", status), ("ProxyPort", 30000), ("StartTime", aliveAt), ("IAmAliveTime", aliveAt),
        ("Version", version),
    ];

    private async Task<int> RunAsync(string key, params (string Name, object? Value)[] parameters)
    {
        await using var command = await CommandAsync(key, parameters);
        var result = await command.ExecuteScalarAsync();
        return result is null ? 0 : Convert.ToInt32(result, System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<int> CountAsync(string key, params (string Name, object? Value)[] parameters)
    {
        await using var command = await CommandAsync(key, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = 0;
        while (await reader.ReadAsync())
        {
            rows++;
        }

        return rows;
    }

    private async Task<NpgsqlCommand> CommandAsync(string key, (string Name, object? Value)[] parameters)
    {
        var text = await TestDatabases.PostgresScalarAsync<string>(
            $"SELECT querytext FROM \"{_schema}\".orleansquery WHERE querykey = '{key}'");
        var command = _dataSource.CreateCommand(text);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }
}
