using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Compliance.Storage;

/// <summary>The embedded default: one SQLite file in write-ahead-log mode.</summary>
public sealed class SqliteStore : AdoStore
{
    private const int SqliteConstraint = 19;
    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly int _eventIndexBatch;
    private readonly SemaphoreSlim _ingestTurn = new(1, 1);
    private DbConnection? _ingestConnection;

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

    /// <summary>
    /// Ingest sessions share one connection, taken in turn: SQLite keeps its page cache per connection and drops it
    /// whenever another connection has written, so a writer that moved between pooled connections would read its
    /// indexes back from the file at every commit.
    /// </summary>
    protected override async Task<(DbConnection Connection, Func<ValueTask> Release)> OpenIngestAsync(CancellationToken ct)
    {
        await _ingestTurn.WaitAsync(ct);
        try
        {
            if (_ingestConnection is not { State: System.Data.ConnectionState.Open })
            {
                if (_ingestConnection is not null)
                {
                    await _ingestConnection.DisposeAsync();
                }

                _ingestConnection = await OpenAsync(ct);
            }
        }
        catch
        {
            _ingestTurn.Release();
            throw;
        }

        return (_ingestConnection, () =>
        {
            _ingestTurn.Release();
            return ValueTask.CompletedTask;
        });
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

    private protected override IEventRowWriter EventRowWriter(DbConnection connection) => new RawEventRowWriter(((SqliteConnection)connection).Handle!);

    /// <summary>
    /// Event rows through SQLite's own API: one statement prepared per transaction, values bound by position.
    /// Microsoft.Data.Sqlite binds each parameter by looking up its name in the statement, which for a row of 25
    /// columns costs more than inserting the row.
    /// </summary>
    private sealed class RawEventRowWriter : IEventRowWriter
    {
        private const int Done = 101; // SQLITE_DONE
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _statement;

        public RawEventRowWriter(sqlite3 db)
        {
            _db = db;
            Check(raw.sqlite3_prepare_v2(db, EventSql.InsertEvent, out _statement));
        }

        public void Write(long seq, StoredEvent e, string violations)
        {
            var s = _statement;
            raw.sqlite3_reset(s);
            raw.sqlite3_bind_int64(s, 1, seq);
            Text(2, e.LenderId);
            Text(3, e.EventId);
            raw.sqlite3_bind_int(s, 4, (int)e.Kind);
            Text(5, e.AccountId);
            Text(6, e.BorrowerId);
            Text(7, e.CollectorId);
            Text(8, e.DecisionId);
            Text(9, e.CallId);
            raw.sqlite3_bind_int(s, 10, (int)e.Channel);
            raw.sqlite3_bind_int(s, 11, (int)e.Purpose);
            Text(12, e.DestinationHash);
            Text(13, e.DestinationMasked);
            raw.sqlite3_bind_int(s, 14, (int)e.DestinationClass);
            Text(15, e.PartyId);
            raw.sqlite3_bind_int(s, 16, (int)e.DestinationUse);
            raw.sqlite3_bind_int(s, 17, (int)e.Outcome);
            raw.sqlite3_bind_int64(s, 18, e.DurationMs);
            raw.sqlite3_bind_int64(s, 19, e.OccurredAt.ToUnixTimeMilliseconds());
            raw.sqlite3_bind_int64(s, 20, e.ReceivedAt.ToUnixTimeMilliseconds());
            raw.sqlite3_bind_int(s, 21, e.Imported ? 1 : 0);
            raw.sqlite3_bind_double(s, 22, e.RiskScore);
            Text(23, violations);
            if (e.Body is null)
            {
                raw.sqlite3_bind_null(s, 24);
            }
            else
            {
                Text(24, e.Body);
            }

            raw.sqlite3_bind_int(s, 25, (int)e.Counts);
            var rc = raw.sqlite3_step(s);
            raw.sqlite3_reset(s);
            if (rc != Done)
            {
                Check(rc);
            }
        }

        private void Text(int index, string value) => Check(raw.sqlite3_bind_text16(_statement, index, value));

        private void Check(int rc)
        {
            if (rc != raw.SQLITE_OK && rc != Done)
            {
                throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_db));
            }
        }

        public void Dispose() => _statement.Dispose();
    }

    protected override bool IsUniqueViolation(DbException e) => e is SqliteException { SqliteErrorCode: SqliteConstraint };
}
