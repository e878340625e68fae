using System.Runtime.InteropServices;
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
internal sealed class HistoryCache(IOptions<ComplianceOptions> options, TimeProvider clock)
{
    private const int MaxBorrowers = 200_000;
    /// <summary>Reservations and stale marks waiting for borrowers the ingest does not come back to: all dropped beyond this many.</summary>
    private const int MaxPending = 100_000;
    /// <summary>From this many waiting, the writer forgets those of borrowers it does not hold before a batch (<see cref="ForgetUnheld"/>).</summary>
    private const int ForgetAbove = 10_000;

    private readonly Dictionary<(string, string), (List<AttemptRow> Rows, DateTimeOffset Since)> _histories = [];
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
                (CollectionsMarshal.GetValueRefOrAddDefault(_reserved, key, out _) ??= []).Add(reservation);
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
    public List<AttemptRow>? TryGet(string lenderId, string borrowerId, DateTimeOffset since)
    {
        if (!Enabled)
        {
            return null;
        }

        if (_allStale)
        {
            _allStale = false;
            _histories.Clear();
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
            _histories.Remove(key);
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
                if (!cached.Rows.Exists(r => r.AttemptId == reservation.AttemptId))
                {
                    cached.Rows.Add(reservation);
                }
            }
        }

        if (cached.Since < since)
        {
            // Only the window is kept: what judging the batch's events reads (the policy's longest rule window before
            // the earliest of them). Each borrower's state is what its rules' windows hold, not its whole history.
            Prune(cached.Rows, since);
            _histories[key] = (cached.Rows, since);
        }

        return cached.Rows;
    }

    /// <summary>Drops the rows before <paramref name="since"/>, in place. (Not RemoveAll with a lambda: capturing the
    /// parameter allocates the closure on every lookup, pruned or not.)</summary>
    private static void Prune(List<AttemptRow> rows, DateTimeOffset since)
    {
        var kept = 0;
        var span = CollectionsMarshal.AsSpan(rows);
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i].Attempt.At >= since)
            {
                span[kept++] = span[i];
            }
        }

        rows.RemoveRange(kept, rows.Count - kept);
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

    public void Put(string lenderId, string borrowerId, DateTimeOffset since, List<AttemptRow> rows)
    {
        if (!Enabled)
        {
            return;
        }

        if (_histories.Count >= MaxBorrowers)
        {
            _histories.Clear();
        }

        _histories[(lenderId, borrowerId)] = (rows, since);
    }
}
