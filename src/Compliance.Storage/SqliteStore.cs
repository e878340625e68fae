using System.Data.Common;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SQLitePCL;

namespace Compliance.Storage;

/// <summary>The embedded default: one SQLite file in write-ahead-log mode.</summary>
public sealed partial class SqliteStore : AdoStore, IAsyncDisposable
{
    /// <summary>
    /// The memory SQLite's allocator holds now in this process, across every connection: page caches, prepared
    /// statements, schemas (each pooled connection's page cache grows up to its cache_size as it reads).
    /// </summary>
    public static long NativeMemoryBytes => raw.sqlite3_memory_used();

    private const int SqliteConstraint = 19;
    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly int _eventIndexBatch;
    /// <summary>How long the writer waits for readers still in the log when it starts the log over.</summary>
    private const int RestartWaitMs = 10;
    /// <summary>How long the key table's reader waits for a busy database (<see cref="FillAsync"/>).</summary>
    private const int FillBusyWaitMs = 5_000;
    /// <summary>How long the write-ahead log may grow, in pages, before the ingest writer starts it over (<see cref="RestartLogAsync"/>).</summary>
    private readonly int _logPagesLimit;
    private readonly ILogger _logger;
    private readonly SqliteTuning _tuning;
    private readonly SemaphoreSlim _ingestTurn = new(1, 1);
    private readonly SemaphoreSlim _writeTurn = new(1, 1);
    private readonly SemaphoreSlim _checkpointTurn = new(1, 1);
    /// <summary>Pages the writer has added to the log since it last started over (the writer's own, in its turn).</summary>
    private int _logPages;
    private int _restartAt;
    private int _restartDelay;
    private bool _restartPostponed;
    private SqliteConnection? _ingestConnection;
    private SqliteConnection? _checkpointConnection;
    private Task _checkpoint = Task.CompletedTask;
    private int _checkpointing;
    private int _checkpointWanted;
    private bool _checkpointFailing;
    private volatile bool _disposed;

    /// <param name="path">The database file.</param>
    /// <param name="syncEveryCommit">FULL synchronous mode: every commit is on disk before it returns, surviving power loss.
    /// Otherwise NORMAL (in WAL mode): a commit survives a crash of the service, and the last ones may be lost only
    /// if the machine itself loses power.</param>
    /// <param name="eventIndexBatch">How many events wait for the key tables before a group commit merges them in.</param>
    /// <param name="logPages">How long the write-ahead log may grow, in pages of 4 KB, before the ingest writer starts
    /// it over (by default 16 MB). Its file is cut back to twice this when it starts over.</param>
    /// <param name="logger">Where the store reports trouble with its write-ahead log.</param>
    /// <param name="gateHistoryBorrowers">Most borrowers whose histories the gate remembers between decisions
    /// (<see cref="GateHistories"/>); past it, those used longest ago are dropped.</param>
    public SqliteStore(string path, bool syncEveryCommit = false, int eventIndexBatch = 100_000, int logPages = 4_096, ILogger<SqliteStore>? logger = null,
        int gateHistoryBorrowers = 100_000)
        : this(path, SqliteTuning.AllOn, syncEveryCommit, eventIndexBatch, logPages, logger, gateHistoryBorrowers)
    {
    }

    /// <summary>A store with some of its mechanisms for speed turned off (<see cref="SqliteTuning"/>), for A/B measurements and tests.</summary>
    internal SqliteStore(string path, SqliteTuning tuning, bool syncEveryCommit = false, int eventIndexBatch = 100_000, int logPages = 4_096,
        ILogger<SqliteStore>? logger = null, int gateHistoryBorrowers = 100_000)
    {
        _tuning = tuning;
        _logger = logger ?? NullLogger<SqliteStore>.Instance;
        ArgumentOutOfRangeException.ThrowIfLessThan(eventIndexBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(logPages, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(gateHistoryBorrowers, 1);
        _gateHistories = new GateHistories(gateHistoryBorrowers);
        _eventIndexBatch = eventIndexBatch;
        _logPagesLimit = _restartAt = logPages;
        _synchronous = syncEveryCommit ? "FULL" : "NORMAL";
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        // SQLite gives the write-ahead log and its index the database file's permissions: created owner-only, so are they.
        CreateOwnerOnly(Path);
        CreateOwnerOnly(DecisionJournalPath);
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

    /// <summary>Creates an empty file readable and writable by its owner only (0600), unless it exists.</summary>
    private static void CreateOwnerOnly(string file)
    {
        if (OperatingSystem.IsWindows() || File.Exists(file))
        {
            return;
        }

        try
        {
            using var created = new FileStream(file, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(file))
        {
            // Created meanwhile by another process; its permissions are its own.
        }
    }

    /// <summary>The size, in bytes, a write-ahead log file grown longer is cut back to when it starts over.</summary>
    private long LogFileLimit => 2L * _logPagesLimit * 4096;

    protected override string SchemaFolder => "Sqlite";

    protected override string LimitClause => " LIMIT @limit";

    protected override bool DeferEventIndex => _tuning.KeyMerge;

    private protected override bool FilterEventKeys => _tuning.KeyMerge && _tuning.KeyFilter;

    protected override int EventIndexBatch => _eventIndexBatch;

    protected override string CreateSchemaVersionTable =>
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)";

    protected override DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = (SqliteConnection)await base.OpenAsync(ct);
        // Per-connection settings, run once per SQLite connection: a pooled connection keeps them between opens, and
        // running them at every open cost the gate, which opens a pooled connection for each of its reads, a parse and
        // a run of five statements each time. The write-ahead log is a property of the file, set once at migration;
        // busy waiting and foreign keys come from the connection string. Each connection has a page cache of its own,
        // and a pool holds a dozen: 8 MB each keeps them to about 100 MB (at 64 MB each a long run's server grew past
        // 1 GB); the ingest writer's own connection gets more (and is set up again should it go back to the pool).
        if (!_configured.TryGetValue(connection.Handle!, out _))
        {
            await using var pragma = connection.CreateCommand();
            // Without the store's own checkpoints (SqliteTuning.CheckpointControl off), SQLite's automatic one stays.
            var checkpoints = _tuning.CheckpointControl ? " PRAGMA wal_autocheckpoint = 0;" : "";
            pragma.CommandText = $"PRAGMA synchronous = {_synchronous}; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = {LogFileLimit};{checkpoints}";
            await pragma.ExecuteNonQueryAsync(ct);
            _configured.AddOrUpdate(connection.Handle!, Configured);
        }

        return connection;
    }

    /// <summary>The SQLite connections (pooled or not) that have their per-connection settings, by their handle.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> _configured = new();
    private static readonly object Configured = new();

    /// <summary>
    /// Write transactions take turns, in the order they asked, before SQLite's own write lock: SQLite admits one writer
    /// at a time, and a writer that finds it taken is retried by Microsoft.Data.Sqlite only every 150 ms. Against the
    /// ingest writer's back-to-back group commits such a writer (a flag change, the gate's journaled decisions) could
    /// wait seconds; in turn it waits for at most the commit ahead of it. (The store assumes one writing process per
    /// file.) In its turn a writer also starts the write-ahead log over when it is long (<see cref="RestartLogAsync"/>):
    /// the ingest writer at the limit, any other only at twice the limit, when no ingest is keeping it short. Every
    /// write transaction first writes the gate decisions journaled so far (<see cref="DecisionJournal"/>).
    /// </summary>
    protected override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct) =>
        BeginWriteAsync(connection, decisionsOnly: false, ct);

    /// <param name="decisionsOnly">The store's own write of journaled decisions, and nothing else: a failure to write
    /// them fails it. Any other transaction leaves them for later instead (see <see cref="WriteDecisionsAsync"/>), and
    /// may change borrowers' histories.</param>
    private async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, bool decisionsOnly, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await _writeTurn.WaitAsync(ct);
        started = StoreTelemetry.Phase("write_turn", started);
        var sqlite = (SqliteConnection)connection;
        DbTransaction inner;
        try
        {
            if (_logPages >= (ReferenceEquals(sqlite, _ingestConnection) ? _restartAt : _restartAt + _logPagesLimit))
            {
                await RestartLogAsync(sqlite);
                started = StoreTelemetry.Phase("log_restart", started);
            }

            inner = await base.BeginWriteAsync(connection, ct);
        }
        catch
        {
            _writeTurn.Release();
            throw;
        }

        // From here the transaction holds the turn, and gives it back however it ends. It writes the gate's decisions
        // answered so far first, and they leave the journal once it commits.
        var writes = _decisions is { } journal ? new DecisionWrites(journal) : null;
        // A transaction that writes only journaled decisions changes no borrower's history as the gate reads it (they
        // were read from the journal before); any other may, and the gate's remembered histories are read again after it.
        var tx = new TurnTransaction(inner, _writeTurn, () =>
        {
            AfterCommit(sqlite);
            DecisionsWritten(writes);
        }, decisionsOnly ? null : _gateHistories.Invalidate) { State = writes };
        if (writes is not null)
        {
            try
            {
                await WriteDecisionsAsync(sqlite, tx, writes, isolate: !decisionsOnly, ct);
                StoreTelemetry.Phase("decisions", started);
            }
            catch
            {
                await tx.DisposeAsync();
                throw;
            }
        }

        return tx;
    }

    /// <summary>
    /// After each write transaction, in its turn: counts the pages it added to the log and has the background copy them
    /// into the database file. No connection checkpoints after its own commits (a gate decision would then wait for
    /// the copy of an ingest commit); the background does, beside the writers.
    /// </summary>
    private void AfterCommit(SqliteConnection connection)
    {
        if (!_tuning.CheckpointControl)
        {
            return;
        }

        raw.sqlite3_db_status(connection.Handle!, raw.SQLITE_DBSTATUS_CACHE_WRITE, out var written, out _, 1);
        _logPages += written;
        Volatile.Write(ref _checkpointWanted, 1);
        StartCheckpoint();
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

                _ingestConnection = null;
                _ingestConnection = (SqliteConnection)await OpenAsync(ct);
                // The writer of every group commit reads the key tables' pages most: it keeps 64 MB of them (and is set
                // up anew if it goes back to the pool).
                _configured.Remove(_ingestConnection.Handle!);
                await using var cache = _ingestConnection.CreateCommand();
                cache.CommandText = "PRAGMA cache_size = -65536";
                await cache.ExecuteNonQueryAsync(ct);
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

    private void StartCheckpoint()
    {
        if (!_disposed && Interlocked.Exchange(ref _checkpointing, 1) == 0)
        {
            _checkpoint = Task.Run(CheckpointAsync);
        }
    }

    private async Task CheckpointAsync()
    {
        try
        {
            while (!_disposed && Interlocked.Exchange(ref _checkpointWanted, 0) == 1)
            {
                // Never creates the file: a store whose file was removed has nothing to copy.
                _checkpointConnection ??= await OpenCheckpointConnectionAsync();
                await _checkpointTurn.WaitAsync();
                try
                {
                    Checkpoint(_checkpointConnection);
                }
                finally
                {
                    _checkpointTurn.Release();
                }

                if (_checkpointFailing)
                {
                    _checkpointFailing = false;
                    _logger.LogInformation("Background checkpoints of {Path} work again.", Path);
                }
            }
        }
        catch (Exception e)
        {
            // The next commit tries again with a new connection; until one succeeds, the writers copy the log themselves
            // when they start it over (RestartLogAsync).
            _checkpointConnection?.Dispose();
            _checkpointConnection = null;
            if (!_checkpointFailing)
            {
                _checkpointFailing = true;
                _logger.LogWarning(e, "A background checkpoint of {Path} failed; the writers copy the write-ahead log themselves when they start it over, until one succeeds.", Path);
            }
        }
        finally
        {
            Volatile.Write(ref _checkpointing, 0);
        }

        // A commit that came after the last round but saw this one still running started none.
        if (Volatile.Read(ref _checkpointWanted) == 1)
        {
            StartCheckpoint();
        }
    }

    /// <summary>
    /// Under sustained ingest the log would grow without end: it starts over only when a write begins with all of it
    /// copied into the database file and no reader still reading from it, and background checkpoints never get there
    /// (the writer's next commit is always ahead of them). So once the log is long, the writer, between two commits,
    /// takes the write turn, waits for the background round, copies the rest itself, waits a moment for readers still in the log (new readers
    /// read the file) and starts the log over; its next commit cuts a log file grown past <see cref="LogFileLimit"/>
    /// back. If a reader stays longer (a long report), it tries again once the log has grown by another quarter of the
    /// limit, then half, then a whole limit each time: a long reader costs the writer one short wait per limit of log.
    /// </summary>
    private async Task RestartLogAsync(SqliteConnection writer)
    {
        await _checkpointTurn.WaitAsync();
        try
        {
            var db = writer.Handle!;
            // Microsoft.Data.Sqlite retries busy commands itself and leaves SQLite's own busy wait at 0.
            raw.sqlite3_busy_timeout(db, RestartWaitMs);
            int rc;
            try
            {
                rc = raw.sqlite3_wal_checkpoint_v2(db, "main", raw.SQLITE_CHECKPOINT_RESTART, out _, out _);
            }
            finally
            {
                raw.sqlite3_busy_timeout(db, 0);
            }

            if (rc == raw.SQLITE_OK)
            {
                _logPages = 0;
                _restartAt = _logPagesLimit;
                _restartDelay = 0;
                if (_restartPostponed)
                {
                    _restartPostponed = false;
                    _logger.LogInformation("The write-ahead log of {Path} started over again.", Path);
                }
            }
            else
            {
                // Busy (or failed: the commit that follows reports any real fault of the file), so later.
                _restartDelay = Math.Clamp(_restartDelay * 2, _logPagesLimit / 4, _logPagesLimit);
                _restartAt = _logPages + _restartDelay;
                // Said once until the log starts over again, not at every try.
                if (!_restartPostponed)
                {
                    _restartPostponed = true;
                    _logger.LogWarning(
                        "The write-ahead log of {Path} could not start over after {Megabytes} MB: {Reason}. The writer tries again every {Next} MB or so.",
                        Path, _logPages / 256, rc == raw.SQLITE_BUSY ? "a reader has been reading from it for a while" : $"SQLite code {rc}", _logPagesLimit / 256);
                }
            }
        }
        finally
        {
            _checkpointTurn.Release();
        }
    }

    /// <summary>
    /// A passive checkpoint: copies what it can of the log into the database file, waiting for no one.
    /// </summary>
    private void Checkpoint(SqliteConnection connection)
    {
        var db = connection.Handle!;
        var rc = raw.sqlite3_wal_checkpoint_v2(db, "main", raw.SQLITE_CHECKPOINT_PASSIVE, out _, out _);
        // Busy: another connection is checkpointing.
        if (rc != raw.SQLITE_BUSY)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private async Task<SqliteConnection> OpenCheckpointConnectionAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        try
        {
            await connection.OpenAsync();
            // A connection finds the log only once it reads; until then a checkpoint sees no log and copies nothing.
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT count(*) FROM sqlite_schema;";
            await read.ExecuteScalarAsync();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits for a running checkpoint and closes the connections the store keeps (the host does this at shutdown).</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseDecisionsAsync();
        _disposed = true;
        await _checkpoint;
        _checkpointConnection?.Dispose();
        if (_ingestConnection is not null)
        {
            await _ingestConnection.DisposeAsync();
        }
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

        var status = await base.MigrateAsync(ct);
        await OpenDecisionsAsync(ct);
        return status;
    }

    private protected override IEventRowWriter? EventRowWriter(DbConnection connection) =>
        _tuning.RowWriter ? new RawEventRowWriter(((SqliteConnection)connection).Handle!) : null;

    private protected override void FilterFillFailed(Exception e) =>
        _logger.LogWarning(e, "Filling a larger filter of stored event ids from {Path} failed; the current one goes on serving (more events are looked up), and the next merge tries again.", Path);

    /// <summary>
    /// Reads the key table through SQLite's own API and hands the filter each key's UTF-8 bytes as stored: read as
    /// strings, every key made two, about 3 % of the processor's time while a filter grew under ingest.
    /// </summary>
    internal override Task FillAsync(EventKeyFilter filter, DbConnection connection)
    {
        var db = ((SqliteConnection)connection).Handle!;
        // Microsoft.Data.Sqlite retries a busy database itself; stepping by hand, SQLite is to wait. The connection is
        // pooled, so its setting is put back.
        raw.sqlite3_busy_timeout(db, FillBusyWaitMs);
        try
        {
            var rc = raw.sqlite3_prepare_v2(db, EventSql.AllEventKeys, out var statement);
            using (statement)
            {
                if (rc == raw.SQLITE_OK)
                {
                    while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
                    {
                        filter.Add(raw.sqlite3_column_blob(statement, 0), raw.sqlite3_column_blob(statement, 1));
                    }
                }

                SqliteException.ThrowExceptionForRC(rc, db);
            }
        }
        finally
        {
            raw.sqlite3_busy_timeout(db, 0);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Event rows through SQLite's own API: one statement prepared per transaction, values bound by position.
    /// Microsoft.Data.Sqlite binds each parameter by looking up its name in the statement, which for a row of 25
    /// columns costs more than inserting the row.
    /// </summary>
    private sealed class RawEventRowWriter : IEventRowWriter
    {
        private readonly sqlite3 _db;
        private readonly Statement _statement;
        private Statement? _eventKey;
        private Statement? _borrowerEvent;
        private byte[] _utf8 = new byte[1024];

        public RawEventRowWriter(sqlite3 db)
        {
            _db = db;
            _statement = Prepare(EventSql.InsertEvent);
        }

        public void WriteKeys(ReadOnlySpan<RecentKey> byEvent, ReadOnlySpan<RecentKey> byBorrower)
        {
            if (_eventKey is null || _borrowerEvent is null)
            {
                _eventKey = Prepare(EventSql.MergeEventKey);
                _borrowerEvent = Prepare(EventSql.MergeBorrowerEvent);
            }

            foreach (var key in byEvent)
            {
                Text(_eventKey, 1, key.LenderId);
                Text(_eventKey, 2, key.EventId);
                _eventKey.Int64(3, key.Seq);
                Step(_eventKey);
            }

            foreach (var key in byBorrower)
            {
                Text(_borrowerEvent, 1, key.LenderId);
                Text(_borrowerEvent, 2, key.BorrowerId);
                _borrowerEvent.Int64(3, key.OccurredMs);
                _borrowerEvent.Int64(4, key.Seq);
                Step(_borrowerEvent);
            }
        }

        private Statement Prepare(string sql)
        {
            Check(raw.sqlite3_prepare_v2(_db, sql, out var statement));
            return new Statement(statement);
        }

        /// <summary>Runs a bound statement and resets it for its next values.</summary>
        private void Step(Statement statement) => Check(statement.StepAndReset());

        public void Write(long seq, StoredEvent e, string violations)
        {
            var s = _statement;
            s.Int64(1, seq);
            Text(s, 2, e.LenderId);
            Text(s, 3, e.EventId);
            s.Int(4, (int)e.Kind);
            Text(s, 5, e.AccountId);
            Text(s, 6, e.BorrowerId);
            Text(s, 7, e.CollectorId);
            Text(s, 8, e.DecisionId);
            Text(s, 9, e.CallId);
            s.Int(10, (int)e.Channel);
            s.Int(11, (int)e.Purpose);
            Text(s, 12, e.DestinationHash);
            Text(s, 13, e.DestinationMasked);
            s.Int(14, (int)e.DestinationClass);
            Text(s, 15, e.PartyId);
            s.Int(16, (int)e.DestinationUse);
            s.Int(17, (int)e.Outcome);
            s.Int64(18, e.DurationMs);
            s.Int64(19, e.OccurredAt.ToUnixTimeMilliseconds());
            s.Int64(20, e.ReceivedAt.ToUnixTimeMilliseconds());
            s.Int(21, e.Imported ? 1 : 0);
            s.Double(22, e.RiskScore);
            Text(s, 23, violations);
            if (e.Body is null)
            {
                s.Null(24);
            }
            else
            {
                Text(s, 24, e.Body);
            }

            s.Int(25, (int)e.Counts);
            Step(s);
        }

        /// <summary>
        /// Binds text as UTF-8, the file's encoding: SQLite would otherwise copy UTF-16 and convert it again when it
        /// builds the record. SQLite copies the bytes, so one buffer serves every column.
        /// </summary>
        private void Text(Statement statement, int index, string value)
        {
            var length = Encoding.UTF8.GetMaxByteCount(value.Length);
            if (_utf8.Length < length)
            {
                _utf8 = new byte[Math.Max(length, _utf8.Length * 2)];
            }

            var written = Encoding.UTF8.GetBytes(value, _utf8);
            Check(statement.Text(index, new ReadOnlySpan<byte>(_utf8, 0, written)));
        }

        private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _db);

        public void Dispose()
        {
            _statement.Dispose();
            _eventKey?.Dispose();
            _borrowerEvent?.Dispose();
        }
    }

    /// <summary>
    /// A prepared statement of the row writer, bound by position and stepped through SQLitePCL's calls. (It used to
    /// call e_sqlite3's entry points through function pointers, to spare the SafeHandle's reference count on each of a
    /// row's 27 calls: the A/B in ADR 6 measured 0.4 to 1.2 us per event and no difference in rate, so it went.)
    /// </summary>
    private sealed class Statement(sqlite3_stmt handle) : IDisposable
    {
        public void Int(int index, int value) => raw.sqlite3_bind_int(handle, index, value);

        public void Int64(int index, long value) => raw.sqlite3_bind_int64(handle, index, value);

        public void Double(int index, double value) => raw.sqlite3_bind_double(handle, index, value);

        public void Null(int index) => raw.sqlite3_bind_null(handle, index);

        public int Text(int index, ReadOnlySpan<byte> utf8) => raw.sqlite3_bind_text(handle, index, utf8);

        /// <summary>Steps once and resets; the step's result code.</summary>
        public int StepAndReset()
        {
            var result = raw.sqlite3_step(handle);
            raw.sqlite3_reset(handle);
            return result;
        }

        public void Dispose() => handle.Dispose();
    }

    protected override bool IsUniqueViolation(DbException e) => e is SqliteException { SqliteErrorCode: SqliteConstraint };
}
