namespace Compliance.Storage;

/// <summary>
/// Holds a database file for one process: the embedded store keeps the newest events' keys, the gate's journal and
/// its write turns in memory, so a second process writing the same file would count and chain behind its back. The
/// lock is an exclusive open of a file beside the database ("compliance.db.lock"), which the operating system drops
/// when the process ends, however it ends, so a crash leaves nothing to clean up.
/// </summary>
public sealed class SqliteFileLock : IDisposable
{
    private readonly FileStream _file;

    private SqliteFileLock(FileStream file) => _file = file;

    /// <summary>Takes the lock of a database file, or throws <see cref="StoreInUseException"/> when another process holds it.</summary>
    public static SqliteFileLock Acquire(string databasePath)
    {
        var path = Path.GetFullPath(databasePath) + ".lock";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            // FileShare.None is an exclusive lock on the open file on every platform .NET runs on (flock on Unix).
            return new SqliteFileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None));
        }
        catch (IOException e)
        {
            throw new StoreInUseException(Path.GetFullPath(databasePath), e);
        }
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>Another process holds the embedded store's database file.</summary>
public sealed class StoreInUseException(string databasePath, Exception inner)
    : Exception($"The database file {databasePath} is in use by another Compliance server process; the embedded SQLite store serves one process. Stop the other server, give this one its own data directory, or run several replicas on SQL Server.", inner);
