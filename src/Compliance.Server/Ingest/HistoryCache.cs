using System.Collections.Concurrent;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Ingest;

/// <summary>
/// Borrowers' attempt histories kept between group commits, so the ingest writer does not re-read a busy borrower's
/// month of attempts for every batch. Only sound where this process is the only writer (the embedded SQLite store):
/// the gate and the reservation releaser mark the borrowers they change as stale, and a failed commit drops it all.
/// Only the ingest writer reads and fills it.
/// </summary>
internal sealed class HistoryCache(IOptions<ComplianceOptions> options)
{
    private const int MaxBorrowers = 200_000;
    private const int PruneAbove = 2_000;

    private readonly Dictionary<(string, string), (List<AttemptRow> Rows, DateTimeOffset Since)> _histories = [];
    private readonly ConcurrentDictionary<(string, string), byte> _stale = new();
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
            return null;
        }

        var key = (lenderId, borrowerId);
        if (_stale.TryRemove(key, out _))
        {
            _histories.Remove(key);
            return null;
        }

        if (!_histories.TryGetValue(key, out var cached) || cached.Since > since)
        {
            return null;
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
