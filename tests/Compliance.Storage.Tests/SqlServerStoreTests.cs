using Testcontainers.MsSql;

namespace Compliance.Storage.Tests;

/// <summary>One SQL Server container for the whole class, when a Docker engine is available.</summary>
public sealed class SqlServerContainerFixture : IAsyncLifetime
{
    private MsSqlContainer? _container;

    /// <summary>Why SQL Server tests cannot run here, or null when they can.</summary>
    public string? Unavailable { get; private set; }

    public string ConnectionString => _container!.GetConnectionString();

    public async ValueTask InitializeAsync()
    {
        if (!DockerLooksAvailable(out var reason))
        {
            Unavailable = reason;
            return;
        }

        try
        {
            _container = new MsSqlBuilder("mcr.microsoft.com/mssql/server:2022-CU14-ubuntu-22.04").Build();
            await _container.StartAsync();
        }
        catch (Exception e)
        {
            Unavailable = $"SQL Server container did not start: {e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>A new, empty database on the container (skipping the test, with the reason, where there is none).</summary>
    public async Task<string> NewDatabaseAsync()
    {
        if (Unavailable is { } reason)
        {
            Assert.Skip(reason);
        }

        var database = $"t{Guid.NewGuid():N}";
        await using (var connection = new Microsoft.Data.SqlClient.SqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE [{database}]";
            await command.ExecuteNonQueryAsync();
        }

        return new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(ConnectionString) { InitialCatalog = database }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    private static bool DockerLooksAvailable(out string reason)
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (!string.IsNullOrEmpty(host) || File.Exists("/var/run/docker.sock") || OperatingSystem.IsWindows())
        {
            reason = "";
            return true;
        }

        reason = "no Docker engine (no DOCKER_HOST and no /var/run/docker.sock), so the SQL Server container cannot run";
        return false;
    }
}

/// <summary>The store contract against a real SQL Server in a container (skipped, with the reason, without Docker).</summary>
public sealed class SqlServerStoreTests(SqlServerContainerFixture fixture) : GateLedgerContract, IClassFixture<SqlServerContainerFixture>
{
    protected override async Task<IComplianceStore> CreateStoreAsync()
    {
        // A fresh database per test keeps the contract's "empty store" promise.
        var database = await fixture.NewDatabaseAsync();
        var store = new SqlServerStore(database);
        await store.MigrateAsync(CancellationToken.None);
        _databases[store] = database;
        return store;
    }

    private readonly Dictionary<IComplianceStore, string> _databases = [];

    protected override async Task EditAsync(IComplianceStore store, string sql)
    {
        await using var connection = new Microsoft.Data.SqlClient.SqlConnection(_databases[store]);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
