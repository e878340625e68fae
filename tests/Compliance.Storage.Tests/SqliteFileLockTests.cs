namespace Compliance.Storage.Tests;

public sealed class SqliteFileLockTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"lock-{Guid.NewGuid():N}");

    [Fact]
    public void ASecondHolder_OfTheSameDatabaseFile_IsRefused_UntilTheFirstLetsGo()
    {
        var path = Path.Combine(_directory, "compliance.db");
        var first = SqliteFileLock.Acquire(path);

        var refused = Assert.Throws<StoreInUseException>(() => SqliteFileLock.Acquire(path));
        using (SqliteFileLock.Acquire(Path.Combine(_directory, "other.db")))
        {
            // Another file is another store.
        }

        first.Dispose();
        using var again = SqliteFileLock.Acquire(path);

        Assert.Contains("compliance.db is in use by another Compliance server process", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
