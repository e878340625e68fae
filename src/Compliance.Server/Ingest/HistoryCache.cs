using System.Runtime.InteropServices;
using Compliance.Domain.Events;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Ingest;

/// <summary>
/// Borrowers' attempt histories kept between group commits, each only as far back as the rules' windows reach, so the ingest writer does not re-read a busy borrower's
/// month of attempts for every batch. Only sound where this process is the only writer (the embedded SQLite store):
/// the gate hands over the reservations it makes, which are added to a cached history when it is next used; releases
/// mark the borrower stale; a failed commit drops it all. Only the ingest writer reads and fills it.
/// </summary>
/// <remarks>
/// A stale borrower's history is read again from the store, and when the borrower has events in flight that read
/// waits for them to be committed, which stalls the ingest. The gate asks before every contact, so a reservation is
/// added instead: every allowed decision used to cost such a wait (30 to 50 in a load run with the gate asked 50
/// times a second, a sixth of the scoring stage's time).
/// </remarks>
/// <para>Bounded by borrowers (<see cref="IngestOptions.HistoryCacheBorrowers"/>) and by rows held in all
/// (<see cref="IngestOptions.HistoryCacheRows"/>): past either, the borrowers used longest ago are dropped, to be read
/// from the store when they come back. (It used to be cleared whole at 200,000 borrowers, and held any number of rows.)</para>
internal sealed class HistoryCache(IOptions<ComplianceOptions> options, TimeProvider clock)
{
    private readonly int _maxBorrowers = Math.Max(1, options.Value.Ingest.HistoryCacheBorrowers);
    private readonly long _maxRows = Math.Max(1, options.Value.Ingest.HistoryCacheRows);
    /// <summary>Reservations and stale marks waiting for borrowers the ingest does not come back to: all dropped beyond this many.</summary>
    private const int MaxPending = 100_000;
    /// <summary>From this many waiting, the writer forgets those of borrowers it does not hold before a batch (<see cref="ForgetUnheld"/>).</summary>
    private const int ForgetAbove = 10_000;

    // Only the ingest writer touches these: each borrower's window, where it reaches back to, and its place in the
    // least-recently-used order (the list's head was used longest ago).
    private readonly Dictionary<(string, string), Entry> _histories = [];
    private readonly LinkedList<(string, string)> _used = [];
    private long _rows;

    private sealed class Entry(AttemptWindow<AttemptRow> rows, DateTimeOffset since, LinkedListNode<(string, string)> node)
    {
        public AttemptWindow<AttemptRow> Rows { get; } = rows;
        public DateTimeOffset Since { get; set; } = since;
        public LinkedListNode<(string, string)> Node { get; } = node;
        /// <summary>Rows counted in the cache's total when last seen.</summary>
        public int Counted { get; set; }
    }

    /// <summary>Borrowers held.</summary>
    internal int Borrowers => _histories.Count;

    /// <summary>Rows held over all borrowers (as last counted: a window grows while a batch uses it).</summary>
    internal long Rows => _rows;
    // What other threads hand over (stale marks, reservations), under one lock; _pending counts both, so the writer's
    // lookups skip the lock while nothing waits.
    private readonly Lock _sync = new();
    private readonly HashSet<(string, string)> _stale = [];
    private readonly Dictionary<(string, string), List<AttemptRow>> _reserved = [];
    private int _pending;
    private volatile bool _allStale;

    public bool Enabled { get; } = options.Value.Ingest.CacheHistories
        ?? string.Equals(options.Value.Store.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase);

    /// <summary>Another writer changed this borrower's attempts in a way the cache cannot follow (a released reservation).</summary>
    public void Invalidate(string lenderId, string borrowerId)
    {
        if (Enabled)
        {
            lock (_sync)
            {
                MarkStale((lenderId, borrowerId));
            }
        }
    }

    /// <summary>
    /// The gate reserved an attempt (an allowed decision, already readable from the store). A cached history gets it
    /// when it is next used, unless it already has it: a history read after the decision holds it.
    /// </summary>
    /// <remarks>
    /// A reservation that has lapsed by now (a slow decision with a short time to live) may already have been released
    /// and its borrower marked stale: it is not handed over, and the borrower is marked stale again, to be read from the
    /// store, which knows. The time is read under the lock the releaser's mark takes, so a reservation handed over here
    /// is released only after, and its release's mark comes after it.
    /// </remarks>
    public void Reserved(string lenderId, string borrowerId, AttemptRow reservation, DateTimeOffset reservedUntil)
    {
        if (!Enabled)
        {
            return;
        }

        lock (_sync)
        {
            var key = (lenderId, borrowerId);
            if (reservedUntil <= clock.GetUtcNow())
            {
                MarkStale(key);
            }
            else if (!_allStale)
            {
                // Mostly one per borrower (the gate asks before each contact, the writer takes them at its next batch):
                // a list of room for one, not the default four rows, for each of up to MaxPending borrowers.
                (CollectionsMarshal.GetValueRefOrAddDefault(_reserved, key, out _) ??= new List<AttemptRow>(1)).Add(reservation);
                Pend();
            }
        }
    }

    /// <summary>
    /// Called by the writer before a batch's lookups: forgets what was handed over for borrowers it does not hold. A
    /// lookup of such a borrower misses and discards it anyway, and the store read after the miss has the reservation
    /// (it is handed over once readable). No read is outstanding between batches, so nothing a read missed is dropped.
    /// Without this, a lender that asks the gate for borrowers whose events come rarely filled the bound every 100,000
    /// decisions, and every cached history of every lender was read again.
    /// </summary>
    public void ForgetUnheld()
    {
        if (!Enabled || Volatile.Read(ref _pending) < ForgetAbove)
        {
            return;
        }

        lock (_sync)
        {
            foreach (var (key, reservations) in _reserved)
            {
                if (!_histories.ContainsKey(key))
                {
                    _reserved.Remove(key);
                    _pending -= reservations.Count;
                }
            }

            _pending -= _stale.RemoveWhere(key => !_histories.ContainsKey(key));
        }
    }

    /// <summary>How many stale marks and reservations wait to be taken.</summary>
    internal int Pending => Volatile.Read(ref _pending);

    /// <summary>Attempts changed where the borrower is not known, or a commit failed.</summary>
    public void InvalidateAll() => _allStale = true;

    /// <summary>The cached history of a borrower if it reaches back to <paramref name="since"/> and nobody else changed it.</summary>
    public AttemptWindow<AttemptRow>? TryGet(string lenderId, string borrowerId, DateTimeOffset since)
    {
        if (!Enabled)
        {
            return null;
        }

        if (_allStale)
        {
            _allStale = false;
            _histories.Clear();
            _used.Clear();
            _rows = 0;
            lock (_sync)
            {
                _stale.Clear();
                _reserved.Clear();
                _pending = 0;
            }

            return null;
        }

        var key = (lenderId, borrowerId);
        // Taken out first: a reservation handed over after this is added later, and one handed over before is in the
        // store by now, so the read that follows a miss has it.
        var (stale, reserved) = TakeHandedOver(key);
        if (stale)
        {
            Drop(key);
            return null;
        }

        if (!_histories.TryGetValue(key, out var cached) || cached.Since > since)
        {
            return null;
        }

        if (reserved is not null)
        {
            foreach (var reservation in reserved)
            {
                if (!cached.Rows.Contains(reservation.AttemptId))
                {
                    cached.Rows.Add(reservation);
                }
            }
        }

        if (cached.Since < since)
        {
            // Only the window is kept: what judging the batch's events reads (the policy's longest rule window before
            // the earliest of them). Each borrower's state is what its rules' windows hold, not its whole history.
            cached.Rows.Prune(since);
            cached.Since = since;
        }

        _used.Remove(cached.Node);
        _used.AddLast(cached.Node);
        Recount(cached);
        return cached.Rows;
    }

    /// <summary>Brings the total up to date with a window's size (it grows as batches add to it), then keeps the bounds.</summary>
    private void Recount(Entry entry)
    {
        _rows += entry.Rows.Count - entry.Counted;
        entry.Counted = entry.Rows.Count;
        Evict(entry);
    }

    /// <summary>Drops the borrowers used longest ago while a bound is passed, never <paramref name="keep"/>.</summary>
    private void Evict(Entry? keep)
    {
        while ((_histories.Count > _maxBorrowers || _rows > _maxRows) && _used.First is { } oldest && !ReferenceEquals(oldest, keep?.Node))
        {
            Drop(oldest.Value);
        }
    }

    private void Drop((string, string) key)
    {
        if (_histories.Remove(key, out var entry))
        {
            _used.Remove(entry.Node);
            _rows -= entry.Counted;
        }
    }

    private (bool Stale, List<AttemptRow>? Reserved) TakeHandedOver((string, string) key)
    {
        if (Volatile.Read(ref _pending) == 0)
        {
            return (false, null);
        }

        lock (_sync)
        {
            var stale = _stale.Remove(key);
            _reserved.Remove(key, out var reserved);
            _pending -= (stale ? 1 : 0) + (reserved?.Count ?? 0);
            return (stale, reserved);
        }
    }

    /// <summary>Under the lock. Once every history is to be read again nothing is kept (a lender that asks the gate but
    /// streams no events would otherwise pile up an entry per decision).</summary>
    private void MarkStale((string, string) key)
    {
        if (!_allStale && _stale.Add(key))
        {
            Pend();
        }
    }

    /// <summary>Counts what was handed over, under the lock; past the bound the whole cache is read again.</summary>
    private void Pend()
    {
        _pending++;
        if (_pending > MaxPending)
        {
            _allStale = true;
        }
    }

    public void Put(string lenderId, string borrowerId, DateTimeOffset since, AttemptWindow<AttemptRow> rows)
    {
        if (!Enabled)
        {
            return;
        }

        var key = (lenderId, borrowerId);
        Drop(key);
        var entry = new Entry(rows, since, _used.AddLast(key));
        _histories[key] = entry;
        Recount(entry);
    }
}
