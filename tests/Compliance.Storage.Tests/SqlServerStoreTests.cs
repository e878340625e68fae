namespace Compliance.Storage.Tests;

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
