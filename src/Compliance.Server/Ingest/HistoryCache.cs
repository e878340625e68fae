using System.Collections.Concurrent;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Ingest;

/// <summary>
/// Borrowers' attempt histories kept between group commits, so the ingest writer does not re-read a busy borrower's
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
internal sealed class HistoryCache(IOptions<ComplianceOptions> options)
{
    private const int MaxBorrowers = 200_000;
    private const int PruneAbove = 2_000;
    /// <summary>Reservations waiting for borrowers the ingest does not come back to are dropped beyond this many.</summary>
    private const int MaxReserved = 100_000;

    private readonly Dictionary<(string, string), (List<AttemptRow> Rows, DateTimeOffset Since)> _histories = [];
    private readonly ConcurrentDictionary<(string, string), byte> _stale = new();
    private readonly ConcurrentDictionary<(string, string), ConcurrentQueue<AttemptRow>> _reserved = new();
    private int _reservedCount;
    private volatile bool _allStale;

    public bool Enabled { get; } = options.Value.Ingest.CacheHistories
        ?? string.Equals(options.Value.Store.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase);

    /// <summary>Another writer (the gate) changed this borrower's attempts.</summary>
    public void Invalidate(string lenderId, string borrowerId)
    {
        if (Enabled)
        {
            _stale[(lenderId, borrowerId)] = 0;
        }
    }

    /// <summary>
    /// The gate reserved an attempt (an allowed decision, already readable from the store). A cached history gets it
    /// when it is next used, unless it already has it: a history read after the decision holds it.
    /// </summary>
    public void Reserved(string lenderId, string borrowerId, AttemptRow reservation)
    {
        if (!Enabled)
        {
            return;
        }

        if (Interlocked.Increment(ref _reservedCount) > MaxReserved)
        {
            _allStale = true;
        }

        _reserved.GetOrAdd((lenderId, borrowerId), static _ => new ConcurrentQueue<AttemptRow>()).Enqueue(reservation);
    }

    /// <summary>Attempts changed where the borrower is not known (released reservations), or a commit failed.</summary>
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
            _stale.Clear();
            _reserved.Clear();
            Interlocked.Exchange(ref _reservedCount, 0);
            return null;
        }

        var key = (lenderId, borrowerId);
        // Taken out first: a reservation handed over after this is added later, and one handed over before is in the
        // store by now, so the read that follows a miss has it.
        var reserved = _reserved.TryRemove(key, out var queue) ? queue : null;
        if (reserved is not null)
        {
            Interlocked.Add(ref _reservedCount, -reserved.Count);
        }

        if (_stale.TryRemove(key, out _))
        {
            _histories.Remove(key);
            return null;
        }

        if (!_histories.TryGetValue(key, out var cached) || cached.Since > since)
        {
            return null;
        }

        foreach (var reservation in reserved ?? [])
        {
            if (!cached.Rows.Exists(r => r.AttemptId == reservation.AttemptId))
            {
                cached.Rows.Add(reservation);
            }
        }

        if (cached.Rows.Count > PruneAbove)
        {
            cached.Rows.RemoveAll(r => r.Attempt.At < since);
            _histories[key] = (cached.Rows, since);
        }

        return cached.Rows;
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
