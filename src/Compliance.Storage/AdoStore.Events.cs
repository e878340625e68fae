using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>
/// Events, incidents and the ingest group commit. Events are an append-only log (one row each, numbered by seq); a
/// group commit appends its rows and one ledger entry per lender over their leaf hashes. Lookups by event id and by
/// borrower go through the key tables, which the embedded store fills in bulk (see <see cref="DeferEventIndex"/>).
/// </summary>
public abstract partial class AdoStore
{
    private readonly RecentEvents _recent = new();
    private volatile EventKeyFilter? _filter;
    /// <summary>A larger filter being filled from the key table beside the writer, which also adds the keys it merges meanwhile.</summary>
    private volatile EventKeyFilter? _growing;

    /// <summary>
    /// Whether the key tables are filled in bulk, every <see cref="EventIndexBatch"/> events, instead of with each
    /// event. Filling a B-tree one random key at a time rewrites a page per key at every commit, which is most of an
    /// embedded store's cost per event; in bulk each page is written once per merge. The newer events' keys are kept
    /// in memory meanwhile (and rebuilt from the log at start), so this is only for a store with a single writing process.
    /// </summary>
    protected virtual bool DeferEventIndex => false;

    /// <summary>How many events may wait for the key tables before a group commit merges them in.</summary>
    protected virtual int EventIndexBatch => 100_000;

    /// <summary>
    /// Whether a filter over the merged keys (<see cref="EventKeyFilter"/>) spares the duplicate check its lookups of
    /// ids never seen; only where the key tables are filled in bulk (<see cref="DeferEventIndex"/>).
    /// </summary>
    private protected virtual bool FilterEventKeys => DeferEventIndex;

    /// <summary>
    /// A provider's faster way to append event rows and keys on this connection, or null for the generic commands (a
    /// store that defers its key tables, <see cref="DeferEventIndex"/>, then merges them with SQLite's INSERT OR IGNORE).
    /// </summary>
    private protected virtual IEventRowWriter? EventRowWriter(DbConnection connection) => null;

    /// <summary>
    /// Appends rows to event_log (columns as in <see cref="EventSql.InsertEvent"/>) and keys to the key tables, within
    /// the connection's transaction.
    /// </summary>
    private protected interface IEventRowWriter : IDisposable
    {
        void Write(long seq, StoredEvent e, string violations);

        /// <summary>Adds keys to the key tables, in the order given (sorted, so each page is written once), skipping keys they hold.</summary>
        void WriteKeys(ReadOnlySpan<RecentKey> byEvent, ReadOnlySpan<RecentKey> byBorrower);
    }

    /// <summary>
    /// An event's keys, as the key tables hold them, with the orders of the two tables' primary keys (ordinal: the same
    /// as SQLite's for all but characters beyond the BMP, where only the merge's page order would suffer).
    /// </summary>
    private protected readonly record struct RecentKey(long Seq, string LenderId, string EventId, string BorrowerId, long OccurredMs)
    {
        public static void SortByEvent(Span<RecentKey> keys) => As<EventOrder>(keys).Sort();

        public static void SortByBorrower(Span<RecentKey> keys) => As<BorrowerOrder>(keys).Sort();

        private static int ByEvent(in RecentKey a, in RecentKey b)
        {
            var c = string.CompareOrdinal(a.LenderId, b.LenderId);
            c = c != 0 ? c : string.CompareOrdinal(a.EventId, b.EventId);
            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        }

        private static int ByBorrower(in RecentKey a, in RecentKey b)
        {
            var c = string.CompareOrdinal(a.LenderId, b.LenderId);
            c = c != 0 ? c : string.CompareOrdinal(a.BorrowerId, b.BorrowerId);
            c = c != 0 ? c : a.OccurredMs.CompareTo(b.OccurredMs);
            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        }

        /// <summary>
        /// The keys seen as one of the order wrappers below, which hold a key and nothing else. The sort calls an
        /// element's own CompareTo directly, inlined; given a Comparison (or a comparer, which it turns into one) it
        /// made a delegate call and copied both keys for each of the merge's millions of comparisons.
        /// </summary>
        private static Span<T> As<T>(Span<RecentKey> keys) where T : struct =>
            MemoryMarshal.CreateSpan(ref Unsafe.As<RecentKey, T>(ref MemoryMarshal.GetReference(keys)), keys.Length);

        private readonly struct EventOrder(RecentKey key) : IComparable<EventOrder>
        {
            private readonly RecentKey _key = key;

            public int CompareTo(EventOrder other) => ByEvent(in _key, in other._key);
        }

        private readonly struct BorrowerOrder(RecentKey key) : IComparable<BorrowerOrder>
        {
            private readonly RecentKey _key = key;

            public int CompareTo(BorrowerOrder other) => ByBorrower(in _key, in other._key);
        }
    }

    /// <summary>
    /// The connection for an ingest session, and how to give it back. By default a pooled connection of its own; a
    /// provider may keep one for the ingest writer (see <see cref="SqliteStore"/>).
    /// </summary>
    protected virtual async Task<(DbConnection Connection, Func<ValueTask> Release)> OpenIngestAsync(CancellationToken ct)
    {
        var connection = await OpenAsync(ct);
        return (connection, connection.DisposeAsync);
    }

    public async Task RunIngestAsync(Func<IIngestSession, Task> work, CancellationToken ct)
    {
        using var activity = StoreTelemetry.Operation("store.ingest_commit");
        var started = Stopwatch.GetTimestamp();
        var (connection, release) = await OpenIngestAsync(ct);
        try
        {
            await RunIngestAsync(connection, work, StoreTelemetry.Phase("ingest_turn", started), ct);
        }
        finally
        {
            await release();
        }
    }

    private async Task RunIngestAsync(DbConnection connection, Func<IIngestSession, Task> work, long started, CancellationToken ct)
    {
        await using var tx = await BeginWriteAsync(connection, ct);
        var phase = StoreTelemetry.Phase("begin", started);
        await using var session = new IngestSession(this, connection, tx, Ledger(connection, tx, ct), ct);
        try
        {
            await session.StartAsync();
            phase = StoreTelemetry.Phase("start", phase);
            await work(session);
            phase = StoreTelemetry.Phase("plan", phase);
            await session.FinishAsync();
            phase = StoreTelemetry.Phase("finish", phase);
            await tx.CommitAsync(ct);
            StoreTelemetry.Phase("commit", phase);
        }
        catch
        {
            // The rows of the failed commit may already be in the recent keys: read them again from the log.
            _recent.Invalidate();
            throw;
        }

        session.AfterCommit();
    }

    public async Task RunIngestReadAsync(Func<IIngestSession, Task> work, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        // The borrower locks its history reads take (see LockResourceSql) belong to a transaction, which SQL Server
        // refuses to grant outside one: where there are such locks, the reads run in a transaction of their own, which
        // writes nothing and releases the locks when the session ends.
        await using var tx = LockResourceSql is null ? null : await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
        await using (var session = new IngestSession(this, connection, tx, null, ct))
        {
            await work(session);
        }

        if (tx is not null)
        {
            await tx.CommitAsync(ct);
        }
    }

    public async Task<IReadOnlyList<ConductTotals>> ConductTotalsAsync(string lenderId, ScoreGroup group, string? id, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, EventSql.ConductTotals(group, id is not null) + LimitClause,
            r => new ConductTotals(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetDouble(3)), ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("id", id ?? ""), ("limit", limit));
    }

    public async Task<IReadOnlyList<RiskyEvent>> RiskyEventsAsync(string lenderId, ScoreGroup group, string id, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, EventSql.RiskyEvents(group) + LimitClause,
            r => new RiskyEvent(r.GetString(0), FromMs(r.GetInt64(1)), r.GetDouble(2), JsonSerializer.Deserialize<List<Violation>>(r.GetString(3), JsonOptions) ?? [],
                r.GetString(4), r.GetString(5)), ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("id", id), ("limit", limit));
    }

    public async Task<Page<Incident>> ListIncidentsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, Severity minSeverity, int limit, string? after, CancellationToken ct)
    {
        return await PageAsync(EventSql.ListIncidents, ReadIncident, i => i.IncidentId, limit, after, ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("min_severity", (int)minSeverity));
    }

    public async Task<Incident?> AcknowledgeIncidentAsync(string lenderId, string incidentId, string by, string note, DateTimeOffset at, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteWriteAsync(connection, EventSql.AcknowledgeIncident, ct,
            ("lender_id", lenderId), ("incident_id", incidentId), ("acknowledged_at", ToMs(at)), ("acknowledged_by", by), ("note", note));
        return (await QueryAsync(connection, EventSql.SelectIncident, ReadIncident, ct, ("lender_id", lenderId), ("incident_id", incidentId))).FirstOrDefault();
    }

    public async Task<IReadOnlyList<Incident>> IncidentsAfterAsync(string lenderId, long afterSequence, Severity minSeverity, int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, EventSql.IncidentsAfter + LimitClause, ReadIncident, ct,
            ("lender_id", lenderId), ("after", afterSequence), ("min_severity", (int)minSeverity), ("limit", limit));
    }

    public async Task<long> LastIncidentSequenceAsync(string lenderId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return Convert.ToInt64(await ScalarAsync(connection, null, EventSql.LastIncidentSequence, ct, ("lender_id", lenderId)));
    }

    public async Task<IReadOnlyList<StoredEvent>> EventsOfAccountAsync(string lenderId, string accountId, string borrowerId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var seqs = await EventSeqsOfBorrowersAsync(connection, null, lenderId, [borrowerId], from, ct);
        var events = await EventsBySeqAsync(connection, null, seqs, ct);
        return events.Where(e => e.LenderId == lenderId && e.AccountId == accountId && e.OccurredAt >= from && e.OccurredAt < to)
            .OrderBy(e => e.OccurredAt).ThenBy(e => e.Seq).ToList();
    }

    public async Task<IReadOnlyList<EventProof>> EventProofsAsync(string lenderId, IReadOnlyList<long> seqs, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var proofs = new List<EventProof>(seqs.Count);
        // Events of one batch share its rows, leaves and entry: each batch is read and hashed once.
        (long First, long Last, List<(StoredEvent Event, byte[] Leaf)> Events, List<byte[]> Leaves, LedgerEntry Entry)? batch = null;
        foreach (var seq in seqs.Order())
        {
            if (batch is not { } current || seq > current.Last)
            {
                var found = (await QueryAsync(connection, EventSql.BatchOf + LimitClause, r => (Last: r.GetInt64(0), First: r.GetInt64(1), LedgerSeq: r.GetInt64(2)), ct,
                    ("lender_id", lenderId), ("seq", seq), ("limit", 1))).FirstOrDefault();
                var entry = found == default ? null
                    : (await QueryAsync(connection, LedgerSql.SelectEntries, ReadEntry, ct, ("lender_id", lenderId), ("from", found.LedgerSeq), ("to", found.LedgerSeq))).FirstOrDefault();
                if (entry is null)
                {
                    batch = null;
                    continue;
                }

                var events = await BatchEventsAsync(connection, lenderId, found.First, found.Last, ct);
                batch = (found.First, found.Last, events, events.Select(e => e.Leaf).ToList(), entry);
            }

            var (first, _, rows, leaves, batchEntry) = batch.Value;
            var index = seq < first ? -1 : rows.FindIndex(e => e.Event.Seq == seq);
            if (index >= 0)
            {
                proofs.Add(new EventProof(rows[index].Event, leaves[index], MerkleTree.Proof(leaves, index), batchEntry));
            }
        }

        return proofs;
    }

    public async Task<(int Events, byte[] Root)> EventBatchRootAsync(string lenderId, long firstSeq, long lastSeq, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var events = await BatchEventsAsync(connection, lenderId, firstSeq, lastSeq, ct);
        return (events.Count, MerkleTree.Root(events.Select(e => e.Leaf).ToList()));
    }

    private static async Task<List<(StoredEvent Event, byte[] Leaf)>> BatchEventsAsync(DbConnection connection, string lenderId, long firstSeq, long lastSeq, CancellationToken ct)
    {
        // The range is read by position alone and the lender's rows are picked here: with the lender in the query,
        // SQLite would rather walk the lender's time index than the position range.
        var rows = await QueryAsync(connection, EventSql.SelectBatchEvents, r => (ReadEvent(r), r.GetString(EventSql.ViolationsColumn)), ct,
            ("from", firstSeq), ("to", lastSeq));
        return rows.Where(r => r.Item1.LenderId == lenderId).Select(r => (r.Item1, EventDigest.Leaf(r.Item1, r.Item2))).ToList();
    }

    /// <summary>One borrower's attempts since a time (the gate's view: attempts only).</summary>
    private async Task<List<Attempt>> ReadHistoryAsync(DbConnection connection, DbTransaction? tx, string lenderId, string borrowerId, DateTimeOffset since,
        CancellationToken ct) =>
        (await ReadHistoriesAsync(connection, tx, lenderId, [borrowerId], since, ct))[borrowerId].ConvertAll(r => r.Attempt);

    /// <summary>
    /// The attempt histories of borrowers since a time: the gate's reservations from the attempts table and the
    /// events that count, with each call's outcome taken from its later events.
    /// </summary>
    private async Task<Dictionary<string, List<AttemptRow>>> ReadHistoriesAsync(DbConnection connection, DbTransaction? tx, string lenderId,
        IReadOnlyCollection<string> borrowerIds, DateTimeOffset since, CancellationToken ct, LedgerAppender? ledger = null)
    {
        var histories = borrowerIds.ToDictionary(b => b, _ => new List<AttemptRow>(), StringComparer.Ordinal);
        if (tx is not null)
        {
            await CatchUpDecisionsAsync(connection, tx, ledger, ct);
        }

        // Decisions not yet written are taken before the database is read: one written in between is then in the
        // database, where it decides (released by then, it does not count), and one in both is counted once.
        var pending = PendingReservations(lenderId, borrowerIds);
        var stored = pending is { Count: > 0 } ? new HashSet<string>(StringComparer.Ordinal) : null;
        var recent = await RecentSeqsAsync(connection, tx, lenderId, borrowerIds, ct);

        // The gate's reservations, the borrowers' counting events found through the key table, and the newest by seq:
        // three plain queries (one compound query costs the gate more to prepare than the three together). One borrower
        // (the gate) is compared directly; several (a batch) come as a JSON list.
        var rows = new Dictionary<string, List<(long At, long Seq, string Id, string CallId, Attempt Attempt, EventCounting Counts)>>(StringComparer.Ordinal);
        var seen = recent.Count > 0 ? new HashSet<long>() : null;
        var only = borrowerIds.Count == 1 ? borrowerIds.First() : null;
        var borrowers = only is not null ? "@ids" : ListOf("@ids");
        var sinceMs = ToMs(since);
        (string, object?)[] parameters = [("lender_id", lenderId), ("since", sinceMs), ("ids", only ?? Json(borrowerIds))];
        await ReadAsync(EventSql.ReservationsOf(borrowers, withReleased: stored is not null), parameters, byPosition: false);
        await ReadAsync(EventSql.CountingEventsOf(borrowers), parameters, byPosition: false);
        if (recent.Count > 0)
        {
            // By position alone (see BatchEventsAsync); lender, borrower and time are checked here, which also skips a
            // position left over in memory from a failed commit and since taken by another event.
            await ReadAsync(EventSql.CountingEventsAt(ListOf("@seqs")), [("seqs", Json(recent))], byPosition: true);
        }

        async Task ReadAsync(string sql, (string, object?)[] values, bool byPosition)
        {
            await using var command = Command(connection, tx, sql, values);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var borrower = byPosition || only is null ? reader.GetString(12) : only;
                var seq = reader.GetInt64(13);
                if (!histories.ContainsKey(borrower) || (seen is not null && seq > 0 && !seen.Add(seq))
                    || (byPosition && (reader.GetString(15) != lenderId || reader.GetInt64(0) < sinceMs)))
                {
                    continue;
                }

                // Reservations keep their decision id; an event's attempt is named after the event.
                var id = seq > 0 ? "evt:" + reader.GetString(10) : reader.GetString(10);
                if (seq == 0)
                {
                    stored?.Add(id);
                    // A released reservation comes only to be known as stored.
                    if ((EventCounting)reader.GetInt32(14) == EventCounting.None)
                    {
                        continue;
                    }
                }

                if (!rows.TryGetValue(borrower, out var list))
                {
                    rows[borrower] = list = [];
                }

                list.Add((reader.GetInt64(0), seq, id, reader.GetString(11), ReadAttempt(reader), (EventCounting)reader.GetInt32(14)));
            }
        }

        if (pending is { Count: > 0 })
        {
            foreach (var entry in pending)
            {
                var at = ToMs(entry.Reservation!.Value.At);
                if (at < sinceMs)
                {
                    continue;
                }

                if (!rows.TryGetValue(entry.BorrowerId, out var list))
                {
                    rows[entry.BorrowerId] = list = [];
                }

                if (!stored!.Contains(entry.Decision.DecisionId))
                {
                    list.Add((at, 0, entry.Decision.DecisionId, "", entry.Reservation.Value, EventCounting.Attempt));
                }
            }
        }

        // A call's later events carry its outcome (the last one wins). The rows are kept (the ingest's windows, the gate's
        // remembered histories): each string read is its own copy, so equal ones are kept once.
        var shared = new SharedStrings();
        foreach (var (borrower, list) in rows)
        {
            list.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Seq.CompareTo(b.Seq));
            var history = histories[borrower];
            Dictionary<(string, string), int>? calls = null;
            foreach (var (_, _, id, callId, attempt, counts) in list)
            {
                if (counts == EventCounting.CallOutcome)
                {
                    if (calls is not null && calls.TryGetValue((attempt.AccountId, callId), out var index))
                    {
                        history[index] = history[index] with { Attempt = history[index].Attempt with { Outcome = attempt.Outcome } };
                    }

                    continue;
                }

                if (callId.Length > 0)
                {
                    (calls ??= [])[(attempt.AccountId, callId)] = history.Count;
                }

                history.Add(new AttemptRow(id, callId, shared.Of(attempt)));
            }
        }

        return histories;
    }

    /// <summary>The seqs of the borrowers' events since a time: from the key table, and from memory for the newest.</summary>
    private async Task<HashSet<long>> EventSeqsOfBorrowersAsync(DbConnection connection, DbTransaction? tx, string lenderId,
        IReadOnlyCollection<string> borrowerIds, DateTimeOffset since, CancellationToken ct)
    {
        var seqs = await RecentSeqsAsync(connection, tx, lenderId, borrowerIds, ct);
        await using var command = Command(connection, tx, EventSql.BorrowerSeqsIn(ListOf("@ids")), [("lender_id", lenderId), ("since", ToMs(since)), ("ids", Json(borrowerIds))]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            seqs.Add(reader.GetInt64(0));
        }

        return seqs;
    }

    /// <summary>The positions of the borrowers' events the key table does not hold yet (embedded store; none elsewhere).</summary>
    private async Task<HashSet<long>> RecentSeqsAsync(DbConnection connection, DbTransaction? tx, string lenderId, IReadOnlyCollection<string> borrowerIds, CancellationToken ct)
    {
        var seqs = new HashSet<long>();
        if (DeferEventIndex)
        {
            await _recent.EnsureLoadedAsync(this, connection, tx, ct);
            _recent.AddBorrowerSeqs(lenderId, borrowerIds, seqs);
        }

        return seqs;
    }

    private async Task<List<StoredEvent>> EventsBySeqAsync(DbConnection connection, DbTransaction? tx, IReadOnlyCollection<long> seqs, CancellationToken ct)
    {
        var events = new List<StoredEvent>();
        if (seqs.Count == 0)
        {
            return events;
        }

        await using var command = Command(connection, tx, EventSql.SelectEventsBySeq(ListOf("@ids")), [("ids", Json(seqs))]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            events.Add(ReadEvent(reader));
        }

        return events;
    }

    /// <summary>
    /// Starts filling a filter over the key table (embedded store) beside the writer (<see cref="GrowAsync"/>) when one
    /// is due: the first at the writer's first merge after a start, sized from the indexed position; a larger one when
    /// the <paramref name="adding"/> keys of this merge would fill the current one past three quarters. Only the ingest
    /// writer starts one: it adds the keys of every later merge to it, so a filter misses no key committed after its
    /// fill's snapshot. Until the first is in place (<see cref="_filter"/>), readers look every key up. Filling one
    /// inside a commit read every stored key while the writer held the write lock, over a second at a million events.
    /// </summary>
    private async Task StartFilterIfDueAsync(DbConnection connection, DbTransaction tx, long adding, CancellationToken ct)
    {
        if (_growing is not null)
        {
            return;
        }

        if (_filter is { } current)
        {
            if (current.Count + adding > current.Capacity / 4 * 3)
            {
                StartGrowing(current.Count + adding);
            }

            return;
        }

        var indexed = (await QueryAsync(connection, EventSql.LogPositions, r => r.GetInt64(0), ct, tx)).Single();
        StartGrowing(indexed + adding);
    }

    /// <summary>Sets up a filter for twice <paramref name="keys"/> and fills it beside the caller.</summary>
    private void StartGrowing(long keys)
    {
        var growing = new EventKeyFilter(2 * keys + 100_000);
        _growing = growing;
        _ = Task.Run(() => GrowAsync(growing));
    }

    /// <summary>
    /// Fills a filter from a snapshot of the key table taken after it was set up (keys merged since then the writer
    /// adds to it too), then puts it in place, unless the writer dropped it meanwhile (another process wrote). If filling
    /// fails, the current filter goes on serving (with more false positives, or none: every key looked up), and the
    /// writer's next merge starts another, which its snapshot fills with every key committed before it.
    /// </summary>
    private async Task GrowAsync(EventKeyFilter growing)
    {
        try
        {
            await using (var connection = await OpenAsync(CancellationToken.None))
            {
                await FillAsync(growing, connection);
            }

            // In place before it stops growing: the writer reads the growing filter before the current one.
            if (ReferenceEquals(_growing, growing))
            {
                _filter = growing;
                _growing = null;
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _growing, null, growing);
            FilterFillFailed(e);
        }
    }

    /// <summary>Filling a larger key filter failed: the current one goes on serving, and the next merge tries again.</summary>
    private protected virtual void FilterFillFailed(Exception e)
    {
    }

    /// <summary>Adds every key of the key table to the filter.</summary>
    internal virtual async Task FillAsync(EventKeyFilter filter, DbConnection connection)
    {
        await using var command = Command(connection, null, EventSql.AllEventKeys, []);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            filter.Add(reader.GetString(0), reader.GetString(1));
        }
    }

    /// <summary>
    /// A subquery over the values of a JSON array parameter: lists of ids travel as one parameter (binding hundreds of
    /// named parameters costs more than the query). SQL Server overrides it with OPENJSON.
    /// </summary>
    private protected virtual string ListOf(string parameter) => $"SELECT value FROM json_each({parameter})";

    private static string Json<T>(IEnumerable<T> values) => JsonSerializer.Serialize(values);

    private static StoredEvent ReadEvent(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), (EventKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7),
        (Channel)r.GetInt32(8), (ContactPurpose)r.GetInt32(9), r.GetString(10), r.GetString(11), (DestinationClass)r.GetInt32(12), r.GetString(13),
        (AttemptOutcome)r.GetInt32(14), r.GetInt64(15), FromMs(r.GetInt64(16)), FromMs(r.GetInt64(17)), r.GetBoolean(18), r.GetDouble(19),
        JsonSerializer.Deserialize<List<Violation>>(r.GetString(20), JsonOptions) ?? [], r.IsDBNull(21) ? null : r.GetString(21),
        (ContactPointUse)r.GetInt32(22), (EventCounting)r.GetInt32(23), r.GetInt64(24));

    private static Incident ReadIncident(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (Severity)r.GetInt32(4), r.GetString(5), r.GetString(6), r.GetString(7),
        JsonSerializer.Deserialize<List<string>>(r.GetString(8), JsonOptions) ?? [], FromMs(r.GetInt64(9)), FromMs(r.GetInt64(10)),
        FromMsOrNull(r, 11), r.GetString(12), r.GetString(13)) { Sequence = r.GetInt64(14) };

    /// <summary>
    /// The newest events' keys, which the key tables do not hold yet (seq above <see cref="IndexedSeq"/>): by event id
    /// and by borrower. Built from the log when first needed or after a failed commit; changed only by the ingest
    /// writer, under its write transaction, before it commits.
    /// </summary>
    private sealed class RecentEvents
    {
        private readonly Lock _sync = new();
        private readonly Dictionary<(string, string), long> _byEvent = [];
        private readonly Dictionary<(string, string), List<long>> _byBorrower = [];
        /// <summary>The same keys in the order of the log, for the merge.</summary>
        private readonly List<RecentKey> _keys = [];
        /// <summary>Committed keys being sorted for a merge, or sorted and partly handed out.</summary>
        private Task<Merge>? _merge;
        /// <summary>
        /// The arrays of the last merge that completed, for the next one: two arrays of every waiting key are megabytes,
        /// on the large object heap, where allocating them anew every merge brought on full collections.
        /// </summary>
        private (RecentKey[] ByEvent, RecentKey[] ByBorrower)? _spare;

        /// <summary>The merge in progress once its keys are sorted; null before, or when there is none.</summary>
        private Merge? Sorted => _merge is { IsCompletedSuccessfully: true } task ? task.Result : null;
        private bool _loaded;

        public long IndexedSeq { get; private set; }

        public long LastSeq { get; private set; }

        public int Count
        {
            get
            {
                lock (_sync)
                {
                    return _byEvent.Count;
                }
            }
        }

        public void Invalidate()
        {
            lock (_sync)
            {
                _loaded = false;
                if (Sorted is { } merge)
                {
                    // The part handed to the failed commit was not stored: it is handed out again.
                    merge.Handed = merge.Committed;
                }
            }
        }

        /// <summary>
        /// A merge: committed keys sorted by each key table's order (they stay valid however commits fail later), how
        /// many have been handed to a commit, and how many of those were committed.
        /// </summary>
        private sealed class Merge(RecentKey[] byEvent, RecentKey[] byBorrower, int count, long lastSeq)
        {
            /// <summary>The keys are the first <see cref="Count"/> of each array (they may be longer, being reused).</summary>
            public RecentKey[] ByEvent { get; } = byEvent;
            public RecentKey[] ByBorrower { get; } = byBorrower;
            public int Count { get; } = count;
            public long LastSeq { get; } = lastSeq;
            /// <summary>
            /// A hundredth of the merge (a merge holds at least the threshold that starts one, so a part is at least
            /// 1,000 keys by default): no single commit carries much of it.
            /// (A tenth made the commit that carried it 100 to 250 ms slower once the key tables outgrew the writer's page
            /// cache, and with it the acknowledgement p99 of a paced feed, 12 ms in the soak's other minutes.) Under full
            /// load new keys gather while a merge goes on, so the next merge is larger and so are its parts: the memory's
            /// keys settle where a merge's hundred commits bring as many keys as they merge.
            /// </summary>
            public int Part { get; } = Math.Max(1, (count + 99) / 100);
            public int Handed { get; set; }
            public int Committed { get; set; }
        }

        /// <summary>
        /// Loads the keys above the indexed position. The ingest writer (<paramref name="writer"/>) replaces what memory
        /// holds whenever it differs from the log's end (after a failed commit, or when another process wrote); anyone
        /// else only adds the committed keys it finds, as the writer may be adding the keys of its open transaction.
        /// Keys left over from a failed commit are harmless until then: every lookup reads the rows by seq and checks them.
        /// </summary>
        public async Task EnsureLoadedAsync(AdoStore store, DbConnection connection, DbTransaction? tx, CancellationToken ct, bool writer = false)
        {
            lock (_sync)
            {
                if (_loaded && !writer)
                {
                    return;
                }
            }

            var (indexed, last) = (await QueryAsync(connection, EventSql.LogPositions, r => (r.GetInt64(0), r.GetInt64(1)), ct, tx)).Single();
            lock (_sync)
            {
                if (_loaded && IndexedSeq == indexed && LastSeq == last)
                {
                    return;
                }
            }

            var rows = await QueryAsync(connection, EventSql.RecentKeys, r => new RecentKey(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4)), ct, tx,
                ("indexed", indexed));
            lock (_sync)
            {
                if (writer)
                {
                    // The log grew or was indexed past what this process knows: another process wrote, and its keys
                    // are in no filter of ours.
                    if (last > LastSeq || indexed > IndexedSeq)
                    {
                        store._filter = null;
                        store._growing = null;
                    }

                    _byEvent.Clear();
                    _byBorrower.Clear();
                    _keys.Clear();
                    // A merge's keys stay valid while the key tables have not moved on (another process merging).
                    if (indexed != IndexedSeq || Sorted?.LastSeq > last)
                    {
                        _merge = null;
                    }

                    LastSeq = last;
                    IndexedSeq = indexed;
                }
                else if (_loaded)
                {
                    return; // loaded by someone else meanwhile
                }
                else
                {
                    // The writer may have merged keys between these reads and now: they must not come back.
                    IndexedSeq = Math.Max(IndexedSeq, indexed);
                }

                foreach (var row in rows)
                {
                    if (row.Seq > IndexedSeq)
                    {
                        AddLocked(row);
                    }
                }

                _loaded = true;
            }
        }

        public long NextSeq() => LastSeq + 1;

        /// <summary>Events stored at consecutive positions from <paramref name="first"/>.</summary>
        public void AddRange(IReadOnlyList<StoredEvent> events, long first)
        {
            lock (_sync)
            {
                for (var i = 0; i < events.Count; i++)
                {
                    var e = events[i];
                    AddLocked(new RecentKey(first + i, e.LenderId, e.EventId, e.BorrowerId, e.OccurredAt.ToUnixTimeMilliseconds()));
                }
            }
        }

        /// <summary>
        /// The next part of the keys to merge into the key tables, sorted as each table is, and, with the last part, the
        /// position the merge reaches; null while there is nothing to merge. Once <paramref name="threshold"/> keys
        /// wait, the first call takes them and sorts them on another thread; later calls hand them out a part at a
        /// time (<see cref="Merge.Part"/>), one part per commit. The commit reports back with <see cref="PartCommitted"/>;
        /// a failed one is handed out again (<see cref="Invalidate"/>). After a restart the merge starts over, and the key
        /// tables skip keys they already hold.
        /// </summary>
        public (ArraySegment<RecentKey> ByEvent, ArraySegment<RecentKey> ByBorrower, long? Completes)? NextMergePart(int threshold)
        {
            lock (_sync)
            {
                if (_merge is null)
                {
                    if (_keys.Count >= threshold)
                    {
                        var waiting = _keys.Count;
                        var (keys, byBorrower) = _spare is { } spare && spare.ByEvent.Length >= waiting
                            ? spare
                            : (new RecentKey[waiting + waiting / 4], new RecentKey[waiting + waiting / 4]); // room for the next, slightly larger merge
                        _spare = null;
                        CollectionsMarshal.AsSpan(_keys).CopyTo(keys);
                        _merge = Task.Run(() =>
                        {
                            keys.AsSpan(0, waiting).CopyTo(byBorrower);
                            RecentKey.SortByEvent(keys.AsSpan(0, waiting));
                            RecentKey.SortByBorrower(byBorrower.AsSpan(0, waiting));
                            var last = long.MinValue;
                            foreach (var key in byBorrower.AsSpan(0, waiting))
                            {
                                last = Math.Max(last, key.Seq);
                            }

                            return new Merge(keys, byBorrower, waiting, last);
                        });
                    }

                    return null;
                }

                if (!_merge.IsCompleted)
                {
                    return null;
                }

                if (!_merge.IsCompletedSuccessfully)
                {
                    _merge = null; // the sort failed: the next commit sorts again
                    return null;
                }

                var merge = _merge.Result;
                var from = merge.Handed;
                var count = Math.Min(merge.Part, merge.Count - from);
                if (count == 0)
                {
                    return null;
                }

                merge.Handed += count;
                var completes = merge.Handed == merge.Count;
                return (new(merge.ByEvent, from, count), new(merge.ByBorrower, from, count), completes ? merge.LastSeq : null);
            }
        }

        /// <summary>
        /// The commit that carried the merge's keys up to <paramref name="handed"/> succeeded; after the last part the
        /// key tables hold everything up to the merge's position, and memory forgets those keys.
        /// </summary>
        public void PartCommitted(int handed)
        {
            lock (_sync)
            {
                if (Sorted is not { } merge || merge.Committed >= handed)
                {
                    return;
                }

                merge.Committed = handed;
                if (handed == merge.Count)
                {
                    _merge = null;
                    IndexedLocked(merge.LastSeq);
                    // Kept for the next merge without their keys, whose strings can go.
                    Array.Clear(merge.ByEvent, 0, merge.Count);
                    Array.Clear(merge.ByBorrower, 0, merge.Count);
                    _spare = (merge.ByEvent, merge.ByBorrower);
                }
            }
        }

        public bool TryGetEvent(string lenderId, string eventId, out long seq)
        {
            lock (_sync)
            {
                return _byEvent.TryGetValue((lenderId, eventId), out seq);
            }
        }

        public void AddBorrowerSeqs(string lenderId, IEnumerable<string> borrowerIds, HashSet<long> seqs)
        {
            lock (_sync)
            {
                foreach (var borrowerId in borrowerIds)
                {
                    if (_byBorrower.TryGetValue((lenderId, borrowerId), out var list))
                    {
                        seqs.UnionWith(list);
                    }
                }
            }
        }

        /// <summary>The key tables now hold everything up to <paramref name="indexed"/>: forget those keys.</summary>
        private void IndexedLocked(long indexed)
        {
            IndexedSeq = indexed;
            _keys.RemoveAll(k => k.Seq <= indexed);
            // Removing while enumerating is allowed for a Dictionary; copying the entries out first made lists the size
            // of a whole merge.
            foreach (var (key, seq) in _byEvent)
            {
                if (seq <= indexed)
                {
                    _byEvent.Remove(key);
                }
            }

            foreach (var (key, list) in _byBorrower)
            {
                list.RemoveAll(s => s <= indexed);
                if (list.Count == 0)
                {
                    _byBorrower.Remove(key);
                }
            }
        }

        private void AddLocked(RecentKey key)
        {
            ref var seq = ref CollectionsMarshal.GetValueRefOrAddDefault(_byEvent, (key.LenderId, key.EventId), out var known);
            if (known && seq == key.Seq)
            {
                return; // a reader loading the committed keys found one the writer had added
            }

            seq = key.Seq;
            (CollectionsMarshal.GetValueRefOrAddDefault(_byBorrower, (key.LenderId, key.BorrowerId), out _) ??= []).Add(key.Seq);
            _keys.Add(key);
            LastSeq = Math.Max(LastSeq, key.Seq);
        }
    }

    /// <summary>One write transaction with prepared commands reused across the batch.</summary>
    /// <remarks>
    /// Without a ledger the session only reads (see <see cref="RunIngestReadAsync"/>): its writes throw. Its transaction
    /// is then only there to own the borrower locks, where the provider takes them.
    /// </remarks>
    private sealed class IngestSession(AdoStore store, DbConnection connection, DbTransaction? tx, LedgerAppender? ledger, CancellationToken ct) : IIngestSession, IAsyncDisposable
    {
        private readonly string? _lockSql = store.LockResourceSql;
        private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long First, long Last, DateTimeOffset At, List<byte[]> Leaves)> _batches = new(StringComparer.Ordinal);
        private IEventRowWriter? _rows;
        private bool _rowsChecked;
        private long _nextSeq;
        private int _mergedTo = -1;

        private LedgerAppender Writes => ledger ?? throw new InvalidOperationException("This ingest session only reads.");

        /// <summary>In a write session, writes the gate's decisions answered since it began, before it reads or changes one.</summary>
        private Task CatchUpDecisionsAsync() => tx is null || ledger is null ? Task.CompletedTask : store.CatchUpDecisionsAsync(connection, tx, ledger, ct);

        /// <summary>The provider's own way to append rows and keys, if it has one (made once per session).</summary>
        private IEventRowWriter? RowWriter()
        {
            if (!_rowsChecked)
            {
                _rows = store.EventRowWriter(connection);
                _rowsChecked = true;
            }

            return _rows;
        }

        /// <summary>Finds where the log ends and, when enough events wait for the key tables, merges them in.</summary>
        public async Task StartAsync()
        {
            if (!store.DeferEventIndex)
            {
                if (_lockSql is not null)
                {
                    await ExecuteAsync(connection, tx, _lockSql, ct, ("resource", "event_log"));
                }

                _nextSeq = (await QueryAsync(connection, EventSql.LogPositions, r => r.GetInt64(1), ct, tx)).Single() + 1;
                return;
            }

            var recent = store._recent;
            await recent.EnsureLoadedAsync(store, connection, tx, ct, writer: true);
            _nextSeq = recent.NextSeq();
            // The keys are sorted beside the writer, as each key table is, so a part touches each page of a table once; a
            // part of them goes in with each commit, so no commit stalls the pipeline for the whole merge.
            if (recent.NextMergePart(store.EventIndexBatch) is var (byEvent, byBorrower, completes))
            {
                _mergedTo = byEvent.Offset + byEvent.Count;
                // The keys enter the filters before the table, and before they leave memory after the commit (a reader
                // still holding an older filter asked memory first). The growing one is read before the current one, so
                // a growing filter put in place between the reads is one of them either way.
                if (store.FilterEventKeys)
                {
                    await store.StartFilterIfDueAsync(connection, tx!, byEvent.Count, ct);
                    var growing = store._growing;
                    var current = store._filter;
                    foreach (var key in byEvent)
                    {
                        growing?.Add(key.LenderId, key.EventId);
                        if (current is not null && !ReferenceEquals(current, growing))
                        {
                            current.Add(key.LenderId, key.EventId);
                        }
                    }
                }

                if (RowWriter() is { } rows)
                {
                    rows.WriteKeys(byEvent, byBorrower);
                }
                else
                {
                    await MergeKeysAsync(byEvent, byBorrower);
                }
                if (completes is { } last)
                {
                    await ExecuteAsync(connection, tx, EventSql.SetIndexedSeq, ct, ("to", last));
                }
            }
        }

        /// <summary>The generic way to merge keys into the key tables, where the provider has no row writer (SQLite's statements).</summary>
        private async Task MergeKeysAsync(ArraySegment<RecentKey> byEvent, ArraySegment<RecentKey> byBorrower)
        {
            var key = Prepared(EventSql.MergeEventKey, "lender_id", "event_id", "seq");
            foreach (var k in byEvent)
            {
                Bind(key, k.LenderId, k.EventId, k.Seq);
                await key.ExecuteNonQueryAsync(ct);
            }

            var borrower = Prepared(EventSql.MergeBorrowerEvent, "lender_id", "borrower_id", "occurred_at", "seq");
            foreach (var k in byBorrower)
            {
                Bind(borrower, k.LenderId, k.BorrowerId, k.OccurredMs, k.Seq);
                await borrower.ExecuteNonQueryAsync(ct);
            }
        }

        /// <summary>Appends one ledger entry per lender over the leaf hashes of its events in this commit.</summary>
        public async Task FinishAsync()
        {
            foreach (var (lenderId, (first, last, at, leaves)) in _batches)
            {
                var root = Convert.ToHexStringLower(MerkleTree.Root(leaves));
                var entry = await Writes.AppendAsync(lenderId, LedgerKind.EventBatch, $"events:{first}-{last}", "", at, new EventBatchPayload(first, last, leaves.Count, root));
                var command = Prepared(EventSql.InsertBatch, "lender_id", "last_seq", "first_seq", "events", "ledger_seq");
                Bind(command, lenderId, last, first, leaves.Count, entry.Seq);
                await command.ExecuteNonQueryAsync(ct);
            }

            await Writes.FlushAsync();
        }

        public void AfterCommit()
        {
            if (_mergedTo >= 0)
            {
                store._recent.PartCommitted(_mergedTo);
            }
        }

        public async Task<IReadOnlyDictionary<string, StoredEvent>> ExistingEventsAsync(string lenderId, IReadOnlyCollection<string> eventIds)
        {
            if (store.DeferEventIndex)
            {
                await store._recent.EnsureLoadedAsync(store, connection, tx, ct);
            }

            // Keys newer than the key table are in memory; older ones are looked up only if the filter may hold them.
            // The filter is taken after memory was asked: a key that left memory meanwhile is in the filter by then.
            var seqs = new List<long>();
            var unknown = new List<string>(eventIds.Count);
            foreach (var id in eventIds)
            {
                if (store.DeferEventIndex && store._recent.TryGetEvent(lenderId, id, out var seq))
                {
                    seqs.Add(seq);
                }
                else
                {
                    unknown.Add(id);
                }
            }

            if (store.FilterEventKeys && unknown.Count > 0)
            {
                if (store._filter is { } filter)
                {
                    unknown.RemoveAll(id => !filter.MayContain(lenderId, id));
                }
            }

            if (unknown.Count > 0)
            {
                var command = Prepared(EventSql.EventSeqsIn(store.ListOf("@ids")), "lender_id", "ids");
                Bind(command, lenderId, Json(unknown));
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    seqs.Add(reader.GetInt64(0));
                }
            }

            var found = new Dictionary<string, StoredEvent>(StringComparer.Ordinal);
            foreach (var e in await store.EventsBySeqAsync(connection, tx, seqs, ct))
            {
                if (e.LenderId == lenderId)
                {
                    found[e.EventId] = e;
                }
            }

            return found;
        }

        public async Task<Dictionary<string, List<AttemptRow>>> HistoriesAsync(string lenderId, IReadOnlyCollection<string> borrowerIds, DateTimeOffset since)
        {
            if (_lockSql is not null)
            {
                // The same borrower locks the gate takes (in a fixed order), so events and decisions of one borrower are counted in one order.
                foreach (var borrowerId in borrowerIds.Order(StringComparer.Ordinal))
                {
                    await ExecuteAsync(connection, tx, _lockSql, ct, ("resource", LockName($"borrower:{lenderId}:{borrowerId}")));
                }
            }

            return await store.ReadHistoriesAsync(connection, tx, lenderId, borrowerIds, since, ct, ledger);
        }

        public async Task<AttemptRow?> AttemptOfCallAsync(string lenderId, string callId)
        {
            var command = Prepared(EventSql.AttemptOfCall, "lender_id", "call_id");
            Bind(command, lenderId, callId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? new AttemptRow(reader.GetString(10), reader.GetString(11), ReadAttempt(reader)) : null;
        }

        public async Task<DecisionRecord?> DecisionAsync(string lenderId, string decisionId)
        {
            await CatchUpDecisionsAsync();
            if (store.PendingDecision(lenderId, decisionId) is { } pending)
            {
                return pending;
            }

            var command = Prepared(GateSql.SelectDecision, "lender_id", "decision_id");
            Bind(command, lenderId, decisionId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? ReadDecision(reader) : null;
        }

        public Task AddEventAsync(StoredEvent e) => AddEventsAsync([e]);

        public async Task<long> NextSeqAsync() =>
            ledger is null ? (await QueryAsync(connection, EventSql.LogPositions, r => r.GetInt64(1), ct, tx)).Single() + 1 : _nextSeq;

        public Task AddEventsAsync(IReadOnlyList<StoredEvent> events) => AddEventsAsync(SealedEvents.Seal(events, _nextSeq));

        public async Task AddEventsAsync(SealedEvents sealedEvents)
        {
            _ = Writes;
            if (sealedEvents.FirstSeq != _nextSeq)
            {
                throw new InvalidOperationException($"The events were sealed for position {sealedEvents.FirstSeq} of the log, which continues at {_nextSeq}.");
            }

            var (events, first, violations, leaves) = (sealedEvents.Events, sealedEvents.FirstSeq, sealedEvents.Violations, sealedEvents.Leaves);
            var count = events.Count;
            _nextSeq += count;
            var rows = RowWriter();
            for (var i = 0; i < count; i++)
            {
                if (rows is not null)
                {
                    rows.Write(first + i, events[i], violations[i]);
                }
                else
                {
                    await InsertRowAsync(events[i], first + i, violations[i]);
                }

                AddLeaf(events[i], first + i, leaves[i]);
            }

            // The keys: into memory until the next bulk merge, or into the key tables with the rows.
            if (store.DeferEventIndex)
            {
                store._recent.AddRange(events, first);
                return;
            }

            for (var i = 0; i < count; i++)
            {
                var key = Prepared(EventSql.InsertEventKey, "lender_id", "event_id", "seq");
                Bind(key, events[i].LenderId, events[i].EventId, first + i);
                await key.ExecuteNonQueryAsync(ct);
                var borrower = Prepared(EventSql.InsertBorrowerEvent, "lender_id", "borrower_id", "occurred_at", "seq");
                Bind(borrower, events[i].LenderId, events[i].BorrowerId, ToMs(events[i].OccurredAt), first + i);
                await borrower.ExecuteNonQueryAsync(ct);
            }
        }

        /// <summary>The generic way to append an event row, where the provider has no faster one.</summary>
        private async Task InsertRowAsync(StoredEvent e, long seq, string violations)
        {
            var command = Prepared(EventSql.InsertEvent, EventSql.EventParameters);
            Bind(command, seq, e.LenderId, e.EventId, (int)e.Kind, e.AccountId, e.BorrowerId, e.CollectorId, e.DecisionId, e.CallId, (int)e.Channel,
                (int)e.Purpose, e.DestinationHash, e.DestinationMasked, (int)e.DestinationClass, e.PartyId, (int)e.DestinationUse, (int)e.Outcome, e.DurationMs,
                ToMs(e.OccurredAt), ToMs(e.ReceivedAt), e.Imported, e.RiskScore, violations, e.Body, (int)e.Counts);
            await command.ExecuteNonQueryAsync(ct);
        }

        /// <summary>The event's leaf joins its lender's batch entry.</summary>
        private void AddLeaf(StoredEvent e, long seq, byte[] leaf)
        {
            if (_batches.TryGetValue(e.LenderId, out var batch))
            {
                batch.Leaves.Add(leaf);
                _batches[e.LenderId] = (batch.First, seq, e.ReceivedAt > batch.At ? e.ReceivedAt : batch.At, batch.Leaves);
            }
            else
            {
                _batches[e.LenderId] = (seq, seq, e.ReceivedAt, [leaf]);
            }
        }

        public async Task AddAttemptAsync(string lenderId, string attemptId, string borrowerId, string callId, Attempt a)
        {
            _ = Writes;
            var command = Prepared(EventSql.InsertAttemptWithCall, EventSql.AttemptParameters);
            Bind(command, lenderId, attemptId, borrowerId, a.AccountId, a.CollectorId, (int)a.Channel, a.DestinationHash, (int)a.DestinationClass,
                a.PartyId, (int)a.DestinationUse, (int)a.Purpose, (int)a.Outcome, ToMs(a.At), callId);
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task<bool> ReservationPendingAsync(string lenderId, string decisionId)
        {
            await CatchUpDecisionsAsync();
            // Asked of memory first: a decision written meanwhile is in the database, which then decides (it may have been
            // confirmed or released by the same write). One only in memory cannot have been: both are writes, which write it first.
            var pending = store.PendingDecision(lenderId, decisionId);
            var command = Prepared(EventSql.ReservationState, "lender_id", "attempt_id");
            Bind(command, lenderId, decisionId);
            return await command.ExecuteScalarAsync(ct) is { } state and not DBNull
                ? Convert.ToInt64(state) == 1
                : pending is { Allowed: true, ReservedUntil: not null };
        }

        public async Task<bool> ConfirmReservationAsync(string lenderId, string decisionId, string callId, DateTimeOffset at)
        {
            _ = Writes;
            await CatchUpDecisionsAsync();
            var command = Prepared(EventSql.ConfirmReservation, "lender_id", "attempt_id", "call_id", "at");
            Bind(command, lenderId, decisionId, callId, ToMs(at));
            if (await command.ExecuteNonQueryAsync(ct) == 1)
            {
                return true;
            }

            await store.ThrowIfNotWrittenYetAsync(connection, tx!, lenderId, decisionId, ct);
            return false;
        }

        public async Task SetOutcomeAsync(string lenderId, string attemptId, AttemptOutcome outcome)
        {
            _ = Writes;
            var command = Prepared(EventSql.SetOutcome, "lender_id", "attempt_id", "outcome");
            Bind(command, lenderId, attemptId, (int)outcome);
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task<bool> IncidentExistsAsync(string lenderId, string accountId, string ruleId, DateTimeOffset after, DateTimeOffset before)
        {
            var command = Prepared(EventSql.IncidentExists, "lender_id", "account_id", "rule_id", "after", "before");
            Bind(command, lenderId, accountId, ruleId, ToMs(after), ToMs(before));
            return Convert.ToInt64(await command.ExecuteScalarAsync(ct)) > 0;
        }

        public async Task AddIncidentAsync(Incident i)
        {
            _ = Writes;
            await ExecuteAsync(connection, tx, EventSql.InsertIncident, ct,
                ("lender_id", i.LenderId), ("incident_id", i.IncidentId), ("rule_id", i.RuleId), ("citation", i.Citation), ("severity", (int)i.Severity),
                ("account_id", i.AccountId), ("collector_id", i.CollectorId), ("summary", i.Summary), ("event_ids", JsonSerializer.Serialize(i.EventIds, JsonOptions)),
                ("occurred_at", ToMs(i.OccurredAt)), ("created_at", ToMs(i.CreatedAt)), ("acknowledged_by", ""), ("note", ""));
        }

        public async Task AddFlagAsync(string lenderId, string accountId, Flag flag, DateTimeOffset now)
        {
            // Prepared once per batch, as the event rows are: a batch of consumer requests sets many flags.
            var ledger = Writes;
            var values = FlagValues(lenderId, accountId, flag, now);
            var insert = Prepared(Sql.InsertFlag, [.. values.Select(v => v.Name)]);
            Bind(insert, [.. values.Select(v => v.Value)]);
            await insert.ExecuteNonQueryAsync(ct);
            var stamp = Prepared(store.BumpRegistryStampSql, "lender_id", "account_id");
            Bind(stamp, lenderId, accountId);
            await stamp.ExecuteNonQueryAsync(ct);
            await ledger.AppendAsync(lenderId, LedgerKind.FlagSet, flag.FlagId, accountId, now, flag, FlagBinding(flag, values));
        }

        /// <summary>One prepared command per statement for the whole batch (see <see cref="Prepare"/>).</summary>
        private DbCommand Prepared(string sql, params string[] names)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                _commands[sql] = command = Prepare(connection, tx, sql, names);
            }

            return command;
        }

        public async ValueTask DisposeAsync()
        {
            _rows?.Dispose();
            foreach (var command in _commands.Values)
            {
                await command.DisposeAsync();
            }
        }
    }
}

/// <summary>Statements of the event tables, shared by every provider.</summary>
internal static class EventSql
{
    private const string EventColumns = """
        lender_id, event_id, kind, account_id, borrower_id, collector_id, decision_id, call_id, channel, purpose, destination_hash,
        destination_masked, destination_class, party_id, outcome, duration_ms, occurred_at, received_at, imported, risk_score, violations, body,
        destination_use, counts, seq
        """;
    public const int ViolationsColumn = 20;
    public static readonly string[] EventParameters =
    [
        "seq", "lender_id", "event_id", "kind", "account_id", "borrower_id", "collector_id", "decision_id", "call_id", "channel", "purpose", "destination_hash",
        "destination_masked", "destination_class", "party_id", "destination_use", "outcome", "duration_ms", "occurred_at", "received_at", "imported",
        "risk_score", "violations", "body", "counts",
    ];
    /// <summary>The row of an event; parameters in the order of <see cref="EventParameters"/> (the SQLite writer binds them by position).</summary>
    public const string InsertEvent = """
        INSERT INTO event_log (seq, lender_id, event_id, kind, account_id, borrower_id, collector_id, decision_id, call_id, channel, purpose, destination_hash,
            destination_masked, destination_class, party_id, destination_use, outcome, duration_ms, occurred_at, received_at, imported, risk_score, violations, body, counts)
        VALUES (@seq, @lender_id, @event_id, @kind, @account_id, @borrower_id, @collector_id, @decision_id, @call_id, @channel, @purpose, @destination_hash,
            @destination_masked, @destination_class, @party_id, @destination_use, @outcome, @duration_ms, @occurred_at, @received_at, @imported, @risk_score,
            @violations, @body, @counts)
        """;
    public const string InsertEventKey = "INSERT INTO event_keys (lender_id, event_id, seq) VALUES (@lender_id, @event_id, @seq)";
    public const string InsertBorrowerEvent = "INSERT INTO borrower_events (lender_id, borrower_id, occurred_at, seq) VALUES (@lender_id, @borrower_id, @occurred_at, @seq)";
    // The embedded store's bulk merge (SQLite's syntax). A merge that failed part-way, or was cut short by a restart,
    // runs again: keys already there are skipped.
    public const string MergeEventKey = "INSERT OR IGNORE INTO event_keys (lender_id, event_id, seq) VALUES (@lender_id, @event_id, @seq)";
    public const string MergeBorrowerEvent =
        "INSERT OR IGNORE INTO borrower_events (lender_id, borrower_id, occurred_at, seq) VALUES (@lender_id, @borrower_id, @occurred_at, @seq)";
    public const string InsertBatch = """
        INSERT INTO event_batches (lender_id, last_seq, first_seq, events, ledger_seq) VALUES (@lender_id, @last_seq, @first_seq, @events, @ledger_seq)
        """;

    // The lists come as a subquery over one parameter (AdoStore.ListOf).
    public static string EventSeqsIn(string list) => $"SELECT seq FROM event_keys WHERE lender_id = @lender_id AND event_id IN ({list})";
    public static string SelectEventsBySeq(string list) => $"SELECT {EventColumns} FROM event_log WHERE seq IN ({list})";
    public static string BorrowerSeqsIn(string list) =>
        $"SELECT seq FROM borrower_events WHERE lender_id = @lender_id AND occurred_at >= @since AND borrower_id IN ({list})";
    public const string SelectBatchEvents = $"SELECT {EventColumns} FROM event_log WHERE seq >= @from AND seq <= @to ORDER BY seq";
    public const string BatchOf = "SELECT last_seq, first_seq, ledger_seq FROM event_batches WHERE lender_id = @lender_id AND last_seq >= @seq ORDER BY last_seq";

    /// <summary>The log's indexed position and its last seq.</summary>
    public const string LogPositions = """
        SELECT COALESCE((SELECT indexed_seq FROM event_index_state WHERE id = 1), 0), COALESCE((SELECT MAX(seq) FROM event_log), 0)
        """;
    public const string RecentKeys = "SELECT seq, lender_id, event_id, borrower_id, occurred_at FROM event_log WHERE seq > @indexed ORDER BY seq";
    public const string AllEventKeys = "SELECT lender_id, event_id FROM event_keys";
    public const string SetIndexedSeq = "UPDATE event_index_state SET indexed_seq = @to WHERE id = 1";

    private static (string Column, string Join) Grouping(ScoreGroup group) => group switch
    {
        ScoreGroup.Collector => ("e.collector_id", ""),
        ScoreGroup.Account => ("e.account_id", ""),
        _ => ("c.agency_id", "JOIN collectors c ON c.lender_id = e.lender_id AND c.collector_id = e.collector_id"),
    };

    public static string ConductTotals(ScoreGroup group, bool one)
    {
        var (column, join) = Grouping(group);
        return $"""
            SELECT {column}, CAST(COUNT(*) AS BIGINT), CAST(SUM(CASE WHEN e.risk_score > 0 THEN 1 ELSE 0 END) AS BIGINT), SUM(e.risk_score)
            FROM event_log e {join}
            WHERE e.lender_id = @lender_id AND e.occurred_at >= @from AND e.occurred_at < @to AND e.imported = 0{(one ? $" AND {column} = @id" : "")}
            GROUP BY {column}
            ORDER BY SUM(e.risk_score) DESC, {column}
            """;
    }

    public static string RiskyEvents(ScoreGroup group)
    {
        var (column, join) = Grouping(group);
        return $"""
            SELECT e.event_id, e.occurred_at, e.risk_score, e.violations, e.account_id, e.collector_id
            FROM event_log e {join}
            WHERE e.lender_id = @lender_id AND e.occurred_at >= @from AND e.occurred_at < @to AND e.imported = 0 AND e.risk_score > 0 AND {column} = @id
            ORDER BY e.risk_score DESC, e.occurred_at DESC, e.event_id
            """;
    }

    public static readonly string[] AttemptParameters =
    [
        "lender_id", "attempt_id", "borrower_id", "account_id", "collector_id", "channel", "destination_hash", "destination_class", "party_id",
        "destination_use", "purpose", "outcome", "at", "call_id",
    ];
    public const string InsertAttemptWithCall = """
        INSERT INTO attempts (lender_id, attempt_id, borrower_id, account_id, collector_id, channel, destination_hash, destination_class, party_id,
            destination_use, purpose, outcome, at, reserved_until, released_at, call_id)
        VALUES (@lender_id, @attempt_id, @borrower_id, @account_id, @collector_id, @channel, @destination_hash, @destination_class, @party_id,
            @destination_use, @purpose, @outcome, @at, NULL, NULL, @call_id)
        """;
    private const string AttemptColumns = "at, account_id, collector_id, channel, destination_hash, destination_class, party_id, destination_use, purpose, outcome, attempt_id, call_id";

    // Attempt histories, in the column order of an attempt (see ReadAttempt), then attempt or event id, call id,
    // borrower, seq (0 for the gate's reservations: a BIGINT, as SQL Server types a bare 0 as INT, which its reader
    // will not hand out as a long) and counts.
    private const string HistoryColumns = """
        occurred_at, account_id, collector_id, channel, destination_hash, destination_class, party_id, destination_use, purpose, outcome,
        event_id, call_id, borrower_id, seq, counts
        """;
    /// <summary>
    /// The gate's reservations; with released ones too (counting none, <see cref="EventCounting.None"/>) when decisions
    /// were read from memory, so one written and released meanwhile is known as stored.
    /// </summary>
    public static string ReservationsOf(string borrowers, bool withReleased) => $"""
        SELECT at, account_id, collector_id, channel, destination_hash, destination_class, party_id, destination_use, purpose, outcome,
            attempt_id, call_id, borrower_id, CAST(0 AS BIGINT), CASE WHEN released_at IS NULL THEN 1 ELSE 0 END
        FROM attempts WHERE lender_id = @lender_id AND at >= @since AND borrower_id IN ({borrowers}){(withReleased ? "" : " AND released_at IS NULL")}
        """;
    public static string CountingEventsOf(string borrowers) => $"""
        SELECT {HistoryColumns} FROM event_log WHERE counts <> 0 AND seq IN (
            SELECT seq FROM borrower_events WHERE lender_id = @lender_id AND occurred_at >= @since AND borrower_id IN ({borrowers}))
        """;
    public static string CountingEventsAt(string seqs) => $"SELECT {HistoryColumns}, lender_id FROM event_log WHERE seq IN ({seqs}) AND counts <> 0";

    public const string AttemptOfCall = $"SELECT {AttemptColumns} FROM attempts WHERE lender_id = @lender_id AND call_id = @call_id AND call_id <> '' AND released_at IS NULL";
    /// <summary>1 when the attempt is a pending reservation, 0 when it is stored otherwise, no row when it is not stored.</summary>
    public const string ReservationState = """
        SELECT CASE WHEN reserved_until IS NOT NULL AND released_at IS NULL THEN 1 ELSE 0 END FROM attempts
        WHERE lender_id = @lender_id AND attempt_id = @attempt_id
        """;
    public const string ConfirmReservation = """
        UPDATE attempts SET reserved_until = NULL, call_id = @call_id, at = @at
        WHERE lender_id = @lender_id AND attempt_id = @attempt_id AND reserved_until IS NOT NULL AND released_at IS NULL
        """;
    public const string SetOutcome = "UPDATE attempts SET outcome = @outcome WHERE lender_id = @lender_id AND attempt_id = @attempt_id";

    private const string IncidentColumns = """
        lender_id, incident_id, rule_id, citation, severity, account_id, collector_id, summary, event_ids, occurred_at, created_at,
        acknowledged_at, acknowledged_by, note, seq
        """;
    /// <summary>
    /// The sequence is one more than the lender's highest, read in the ingest's write transaction: on SQLite the only
    /// writer's, on SQL Server one holding the event_log lock, so incidents are numbered in the order they commit and a
    /// reader of committed rows never sees a number before one below it (schema 0017). The unique index on (lender_id,
    /// seq) refuses a second copy of a number should that order ever be broken.
    /// </summary>
    public const string InsertIncident = $"""
        INSERT INTO incidents ({IncidentColumns})
        SELECT @lender_id, @incident_id, @rule_id, @citation, @severity, @account_id, @collector_id, @summary, @event_ids, @occurred_at, @created_at,
            NULL, @acknowledged_by, @note, COALESCE(MAX(seq), 0) + 1
        FROM incidents WHERE lender_id = @lender_id
        """;
    public const string IncidentsAfter = $"""
        SELECT {IncidentColumns} FROM incidents
        WHERE lender_id = @lender_id AND seq > @after AND severity >= @min_severity
        ORDER BY seq
        """;
    public const string LastIncidentSequence = "SELECT COALESCE(MAX(seq), 0) FROM incidents WHERE lender_id = @lender_id";
    public const string IncidentExists = """
        SELECT COUNT(*) FROM incidents WHERE lender_id = @lender_id AND account_id = @account_id AND rule_id = @rule_id AND occurred_at > @after AND occurred_at < @before
        """;
    public const string ListIncidents = $"""
        SELECT {IncidentColumns} FROM incidents
        WHERE lender_id = @lender_id AND created_at >= @from AND created_at < @to AND severity >= @min_severity AND incident_id > @after
        ORDER BY incident_id
        """;
    public const string SelectIncident = $"SELECT {IncidentColumns} FROM incidents WHERE lender_id = @lender_id AND incident_id = @incident_id";
    public const string AcknowledgeIncident = """
        UPDATE incidents SET acknowledged_at = @acknowledged_at, acknowledged_by = @acknowledged_by, note = @note
        WHERE lender_id = @lender_id AND incident_id = @incident_id AND acknowledged_at IS NULL
        """;
}
