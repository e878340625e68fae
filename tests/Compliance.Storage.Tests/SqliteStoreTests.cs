using Microsoft.Data.Sqlite;

namespace Compliance.Storage.Tests;

/// <summary>The store contract against a real SQLite file.</summary>
public sealed class SqliteStoreTests : GateLedgerContract, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("compliance-store-").FullName;

    protected override async Task<IComplianceStore> CreateStoreAsync()
    {
        var store = new SqliteStore(Path.Combine(_directory, $"{Guid.NewGuid():N}.db"));
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task Migrate_RefusesANewerSchema_WithAClearMessage()
    {
        var path = Path.Combine(_directory, "newer.db");
        var store = new SqliteStore(path);
        await store.MigrateAsync(CancellationToken.None);
        await using (var connection = new SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES (999, 'from the future', 0)";
            await command.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<SchemaTooNewException>(() => new SqliteStore(path).MigrateAsync(CancellationToken.None));

        Assert.Equal(999, error.DatabaseVersion);
        Assert.Contains("newer schema", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_SurvivesReopeningTheFile()
    {
        var path = Path.Combine(_directory, "reopen.db");
        var first = new SqliteStore(path);
        await first.MigrateAsync(CancellationToken.None);
        await first.CreateLenderAsync(new Domain.Registry.Lender("lender-a", "A", "US", T0), CancellationToken.None);
        await first.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), CancellationToken.None);
        SqliteConnection.ClearAllPools();

        var second = new SqliteStore(path);
        await second.MigrateAsync(CancellationToken.None);

        Assert.NotNull(await second.GetAccountAsync("lender-a", "acc-1", CancellationToken.None));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
