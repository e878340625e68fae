using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Compliance.Storage;

/// <summary>The embedded default: one SQLite file in write-ahead-log mode.</summary>
public sealed class SqliteStore : AdoStore
{
    private const int SqliteConstraint = 19;
    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly int _eventIndexBatch;

    /// <param name="path">The database file.</param>
    /// <param name="syncEveryCommit">FULL synchronous mode: every commit is on disk before it returns, surviving power loss.
    /// Otherwise NORMAL (in WAL mode): a commit survives a crash of the service, and the last ones may be lost only
    /// if the machine itself loses power.</param>
    /// <param name="eventIndexBatch">How many events wait for the key tables before a group commit merges them in.</param>
    public SqliteStore(string path, bool syncEveryCommit = false, int eventIndexBatch = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(eventIndexBatch, 1);
        _eventIndexBatch = eventIndexBatch;
        _synchronous = syncEveryCommit ? "FULL" : "NORMAL";
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
            ForeignKeys = true,
        }.ToString();
    }

    public string Path { get; }

    protected override string SchemaFolder => "Sqlite";

    protected override string LimitClause => " LIMIT @limit";

    protected override bool DeferEventIndex => true;

    protected override int EventIndexBatch => _eventIndexBatch;

    protected override string CreateSchemaVersionTable =>
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)";

    protected override DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = await base.OpenAsync(ct);
        await using var pragma = connection.CreateCommand();
        // Per-connection settings (pooled connections run this on every open, so it stays short). The write-ahead log
        // is a property of the file, set once at migration; busy waiting and foreign keys come from the connection string.
        pragma.CommandText = $"PRAGMA synchronous = {_synchronous}; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;";
        await pragma.ExecuteNonQueryAsync(ct);
        return connection;
    }

    public override async Task<SchemaStatus> MigrateAsync(CancellationToken ct)
    {
        // WAL lets readers run beside the writer; it persists in the file, so it is set once here.
        await using (var connection = await OpenAsync(ct))
        {
            await using var wal = connection.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(ct);
        }

        return await base.MigrateAsync(ct);
    }

    protected override bool IsUniqueViolation(DbException e) => e is SqliteException { SqliteErrorCode: SqliteConstraint };
}
