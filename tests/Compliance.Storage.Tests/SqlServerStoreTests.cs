namespace Compliance.Storage.Tests;

/// <summary>The store contract against a real SQL Server in a container (skipped, with the reason, without Docker).</summary>
public sealed class SqlServerStoreTests(SqlServerContainerFixture fixture) : GateLedgerContract, IClassFixture<SqlServerContainerFixture>
{
    protected override async Task<IComplianceStore> CreateStoreAsync()
    {
        // A fresh database per test keeps the contract's "empty store" promise.
        var store = new SqlServerStore(await fixture.NewDatabaseAsync());
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }
}
