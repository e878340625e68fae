using System.Text.Json;
using Compliance.Domain.Rules;
using Microsoft.Data.Sqlite;

namespace Compliance.Storage;

/// <summary>
/// Gate decisions the embedded store has answered but not yet written into its database file.
/// <para>
/// SQLite admits one writer per file, and under full ingest the writer holds the lock for a group commit of tens of
/// milliseconds; a decision that waited for it would take as long. So a decision is appended to a journal of its own
/// instead (a small SQLite file beside the database, which only this journal writes), which makes it as durable as a
/// commit of the database, and it is held here, where the store's reads find it, until the next write transaction of
/// the database writes it with its reservation and ledger entry (<see cref="SqliteStore"/>). It then leaves memory,
/// and the journal soon after. A store that starts writes what its journal still holds and its database does not.
/// </para>
/// Entries are numbered in the order they were journaled (never reusing a number, so the journal can forget by
/// number), and held in that order: a write takes them from the front.
/// </summary>
internal sealed class DecisionJournal : IDisposable
{
    /// <summary>A journaled decision: the borrower it was decided for, the record and the reservation when allowed.</summary>
    public sealed record Entry(long Id, string BorrowerId, DecisionRecord Decision, Attempt? Reservation);

    private sealed record Payload(string BorrowerId, DecisionRecord Decision, Attempt? Reservation);

    private readonly Lock _lock = new();
    /// <summary>Held while the journal's connection is used: a group's transaction, or forgetting.</summary>
    private readonly Lock _writeLock = new();
    private readonly Lock _queueLock = new();
    private List<Queued> _queue = [];
    private bool _writing;
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _forget;
    private readonly int _limit;
    private readonly List<Entry> _pending = [];
    // Completed (and replaced) whenever decisions leave memory for the database: appends waiting for room wake up.
    private TaskCompletionSource _room = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// How long an append waits for the database to catch up when <c>limit</c> decisions already wait to be written,
    /// before it is refused (and the gate fails closed). Under a burst the gate so slows to the rate the database
    /// takes decisions at, instead of denying.
    /// </summary>
    public static readonly TimeSpan RoomWait = TimeSpan.FromSeconds(2);
    private readonly Dictionary<(string LenderId, string DecisionId), Entry> _byDecision = [];
    private readonly Dictionary<(string LenderId, string BorrowerId), List<Entry>> _reservations = [];
    private long _writtenThrough;
    private long _forgottenThrough;

    /// <summary>Opens (or creates) the journal and holds what it still has, for the store to write.</summary>
    /// <param name="path">The journal file.</param>
    /// <param name="synchronous">SQLite's synchronous mode, as the database's.</param>
    /// <param name="limit">How many decisions may wait to be written before <see cref="Append"/> refuses more.</param>
    public DecisionJournal(string path, string synchronous, int limit)
    {
        _limit = limit;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            _connection.Open();
            using (var setup = _connection.CreateCommand())
            {
                setup.CommandText = $"""
                    PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};
                    CREATE TABLE IF NOT EXISTS pending_decisions (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL);
                    """;
                setup.ExecuteNonQuery();
            }

            NumberWithoutReuse(_connection);
            using (var read = _connection.CreateCommand())
            {
                read.CommandText = "SELECT id, payload FROM pending_decisions ORDER BY id";
                using var reader = read.ExecuteReader();
                while (reader.Read())
                {
                    var payload = JsonSerializer.Deserialize<Payload>(reader.GetString(1), AdoStore.JsonOptions)
                        ?? throw new InvalidDataException($"Journaled decision {reader.GetInt64(0)} of {path} is empty.");
                    Hold(new Entry(reader.GetInt64(0), payload.BorrowerId, payload.Decision, payload.Reservation));
                }
            }

            _insert = _connection.CreateCommand();
            _insert.CommandText = "INSERT INTO pending_decisions (payload) VALUES (@payload) RETURNING id";
            _insert.Parameters.Add("@payload", SqliteType.Text);
            _insert.Prepare();
            _forget = _connection.CreateCommand();
            _forget.CommandText = "DELETE FROM pending_decisions WHERE id <= @id";
            _forget.Parameters.Add("@id", SqliteType.Integer);
            _forget.Prepare();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A journal made before its numbers were kept from reuse (a table without AUTOINCREMENT) numbers the next entry
    /// 1 again once it has forgotten everything, below what the store has written through, so the entry would never be
    /// written: its table is rebuilt with its entries and numbers, in one transaction.
    /// </summary>
    private static void NumberWithoutReuse(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'pending_decisions'";
        if (command.ExecuteScalar() is string sql && sql.Contains("AUTOINCREMENT", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        command.CommandText = """
            BEGIN IMMEDIATE;
            CREATE TABLE pending_decisions_numbered (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL);
            INSERT INTO pending_decisions_numbered (id, payload) SELECT id, payload FROM pending_decisions ORDER BY id;
            DROP TABLE pending_decisions;
            ALTER TABLE pending_decisions_numbered RENAME TO pending_decisions;
            COMMIT;
            """;
        try
        {
            command.ExecuteNonQuery();
        }
        catch
        {
            using var rollback = connection.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            try
            {
                rollback.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // No transaction was left open.
            }

            throw;
        }
    }

    /// <summary>How many decisions wait to be written.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>
    /// Journals a decision (durable when the task completes) and holds it for the reads and the next write. Refuses,
    /// so that the gate fails closed, when <c>limit</c> decisions already wait: the database is not taking them.
    /// <para>
    /// Group commit: decisions journaled at the same time share one transaction of the journal. The first caller to
    /// find no write in progress writes what is queued then (its own decision and any that arrived before it began);
    /// those queued meanwhile wait, and when the write has committed the first of them writes the next group. So a
    /// caller alone writes at once, and under load each transaction carries every decision that waited for the one
    /// before it. Every decision is committed, and held where the reads find it, before its caller is answered.
    /// </para>
    /// </summary>
    public async ValueTask<Entry> AppendAsync(string borrowerId, DecisionRecord decision, Attempt? reservation)
    {
        await RoomAsync();
        var me = new Queued(borrowerId, decision, reservation, JsonSerializer.Serialize(new Payload(borrowerId, decision, reservation), AdoStore.JsonOptions));
        bool lead;
        lock (_queueLock)
        {
            _queue.Add(me);
            lead = !_writing;
            _writing = true;
        }

        // Written by the group of another caller, or handed the next group to write.
        if (lead || await me.Turn.Task)
        {
            WriteGroup(me);
        }

        return me.Error is { } error ? throw error : me.Entry!;
    }

    /// <summary>Waits, up to <see cref="RoomWait"/>, while the limit of decisions waiting for the database is reached.</summary>
    private async ValueTask RoomAsync()
    {
        long? until = null;
        while (true)
        {
            Task freed;
            lock (_lock)
            {
                if (_pending.Count < _limit)
                {
                    return;
                }

                freed = _room.Task;
            }

            until ??= Environment.TickCount64 + (long)RoomWait.TotalMilliseconds;
            var left = until.Value - Environment.TickCount64;
            if (left <= 0 || await Task.WhenAny(freed, Task.Delay(TimeSpan.FromMilliseconds(left))) != freed)
            {
                // Still full: the append goes on and is refused at the limit.
                return;
            }
        }
    }

    /// <summary>Writes every queued decision in one transaction, tells their callers, and hands the next group to the first caller queued meanwhile.</summary>
    private void WriteGroup(Queued leader)
    {
        List<Queued> group;
        lock (_queueLock)
        {
            group = _queue;
            _queue = [];
        }

        try
        {
            lock (_writeLock)
            {
                Write(group);
            }
        }
        finally
        {
            Queued? next = null;
            lock (_queueLock)
            {
                if (_queue.Count > 0)
                {
                    next = _queue[0];
                }
                else
                {
                    _writing = false;
                }
            }

            foreach (var queued in group)
            {
                if (!ReferenceEquals(queued, leader))
                {
                    queued.Turn.TrySetResult(false);
                }
            }

            next?.Turn.TrySetResult(true);
        }
    }

    /// <summary>One transaction of the journal for the group; then its entries are held, in the order of their numbers.</summary>
    private void Write(List<Queued> group)
    {
        int waiting;
        lock (_lock)
        {
            waiting = _pending.Count;
        }

        var accepted = new List<Queued>(group.Count);
        foreach (var queued in group)
        {
            if (waiting + accepted.Count >= _limit)
            {
                queued.Error = new InvalidOperationException($"{waiting + accepted.Count} gate decisions are waiting to be written into the database; no more are taken until they are.");
            }
            else
            {
                accepted.Add(queued);
            }
        }

        if (accepted.Count == 0)
        {
            return;
        }

        try
        {
            using var tx = _connection.BeginTransaction();
            _insert.Transaction = tx;
            foreach (var queued in accepted)
            {
                _insert.Parameters[0].Value = queued.Payload;
                queued.Entry = new Entry(Convert.ToInt64(_insert.ExecuteScalar()), queued.BorrowerId, queued.Decision, queued.Reservation);
            }

            tx.Commit();
        }
        catch (Exception e)
        {
            // Rolled back as a whole: none of the group is journaled, and each of its callers is told so.
            foreach (var queued in accepted)
            {
                queued.Entry = null;
                queued.Error = e;
            }

            return;
        }
        finally
        {
            _insert.Transaction = null;
        }

        lock (_lock)
        {
            foreach (var queued in accepted)
            {
                Hold(queued.Entry!);
            }
        }
    }

    /// <summary>A decision waiting for its group's transaction; <see cref="Turn"/> completes true when its caller is to write the next group.</summary>
    private sealed class Queued(string borrowerId, DecisionRecord decision, Attempt? reservation, string payload)
    {
        public string BorrowerId { get; } = borrowerId;

        public DecisionRecord Decision { get; } = decision;

        public Attempt? Reservation { get; } = reservation;

        public string Payload { get; } = payload;

        public TaskCompletionSource<bool> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Entry? Entry { get; set; }

        public Exception? Error { get; set; }
    }

    /// <summary>What was journaled after <paramref name="id"/> and waits to be written, in journal order.</summary>
    public IReadOnlyList<Entry> PendingAfter(long id)
    {
        lock (_lock)
        {
            var first = _pending.FindIndex(e => e.Id > id);
            return first < 0 ? [] : _pending.GetRange(first, _pending.Count - first);
        }
    }

    /// <summary>A decision not yet written, if it is one.</summary>
    public DecisionRecord? Decision(string lenderId, string decisionId)
    {
        lock (_lock)
        {
            return _byDecision.TryGetValue((lenderId, decisionId), out var entry) ? entry.Decision : null;
        }
    }

    /// <summary>The reservations of the borrowers' decisions not yet written, or null when there are none.</summary>
    public List<Entry>? Reservations(string lenderId, IEnumerable<string> borrowerIds)
    {
        List<Entry>? found = null;
        lock (_lock)
        {
            if (_reservations.Count == 0)
            {
                return null;
            }

            foreach (var borrowerId in borrowerIds)
            {
                if (_reservations.TryGetValue((lenderId, borrowerId), out var entries))
                {
                    (found ??= []).AddRange(entries);
                }
            }
        }

        return found;
    }

    /// <summary>The entries through <paramref name="id"/> are in the database (committed): they leave memory now, and the journal at <see cref="Forget"/>.</summary>
    public void Written(long id)
    {
        lock (_lock)
        {
            var count = 0;
            while (count < _pending.Count && _pending[count].Id <= id)
            {
                var entry = _pending[count++];
                _byDecision.Remove((entry.Decision.LenderId, entry.Decision.DecisionId));
                var key = (entry.Decision.LenderId, entry.BorrowerId);
                if (entry.Reservation is not null && _reservations.TryGetValue(key, out var entries))
                {
                    entries.Remove(entry);
                    if (entries.Count == 0)
                    {
                        _reservations.Remove(key);
                    }
                }
            }

            _pending.RemoveRange(0, count);
            _writtenThrough = Math.Max(_writtenThrough, id);
            if (count > 0)
            {
                var freed = _room;
                _room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                freed.TrySetResult();
            }
        }
    }

    /// <summary>Removes from the journal what the database has. A failure here loses nothing: the entries are written at most once (see <see cref="SqliteStore"/>).</summary>
    public void Forget()
    {
        lock (_writeLock)
        {
            long through;
            lock (_lock)
            {
                through = _writtenThrough;
            }

            if (through > _forgottenThrough)
            {
                _forget.Parameters[0].Value = through;
                _forget.ExecuteNonQuery();
                _forgottenThrough = through;
            }
        }
    }

    private void Hold(Entry entry)
    {
        _pending.Add(entry);
        _byDecision[(entry.Decision.LenderId, entry.Decision.DecisionId)] = entry;
        if (entry.Reservation is not null)
        {
            var key = (entry.Decision.LenderId, entry.BorrowerId);
            if (!_reservations.TryGetValue(key, out var entries))
            {
                _reservations[key] = entries = [];
            }

            entries.Add(entry);
        }
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            _insert.Dispose();
            _forget.Dispose();
            _connection.Dispose();
        }
    }
}

/// <summary>
/// A gate decision is answered but not yet in the database, so its reservation cannot be changed yet. A store error
/// (a <see cref="System.Data.Common.DbException"/>): the write that met it fails as a whole and is tried again, as for
/// any other store error (an ingest batch is resent).
/// </summary>
public sealed class DecisionNotWrittenException(string decisionId)
    : System.Data.Common.DbException($"Gate decision {decisionId} is not in the database yet; try again shortly.");
