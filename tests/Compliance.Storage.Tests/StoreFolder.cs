using Microsoft.Data.Sqlite;

namespace Compliance.Storage;

/// <summary>
/// A temporary folder for a test class's SQLite files, and the stores opened on them. A store goes on working beside
/// its caller (the checkpoint copies the log into the file, decisions are written in the background), so the folder is
/// removed only after every store kept here has been closed: removing it under a running checkpoint failed with
/// "directory not empty" once the checkpoint had created a file in it.
/// </summary>
internal sealed class StoreFolder(string prefix) : IAsyncDisposable
{
    private readonly List<SqliteStore> _stores = [];

    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Closes <paramref name="store"/> with the folder.</summary>
    public SqliteStore Keep(SqliteStore store)
    {
        lock (_stores)
        {
            _stores.Add(store);
        }

        return store;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
