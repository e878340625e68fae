using BitFaster.Caching.Lru;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>
/// The borrowers' attempt histories and registry stamps as the embedded store's gate last read them, with the gate's
/// decisions since added, so that a borrower's next decision reads no page of the database.
/// <para>
/// Exact because this process is the database's only writer (<see cref="SqliteStore"/>) and every write goes through
/// its write turn: a write transaction that may change a history or a stamp (an event, a confirmation, a release, an
/// account or flag) ends by moving the generation on, and a history read before that is not used after it. A
/// history is remembered with the generation taken before it was read, so a write that ended while it was read
/// leaves it unused as well. The store's own writes of journaled decisions change nothing the gate reads (it read
/// them from the journal) and leave the generation alone; the gate adds the reservation of each decision it
/// journals, under the borrower's turn, as a read of the store would then find it.
/// </para>
/// <para>
/// Bounded: at most <c>maxBorrowers</c>, the least recently used dropped first. And it holds only what can still be
/// used: a generation never comes back, so the first history remembered at a new generation drops every other. Under
/// ingest (a write every group commit) it holds the few borrowers decided since the last commit, not a second copy of
/// the ingest's windows.
/// </para>
/// </summary>
internal sealed class GateHistories(int maxBorrowers)
{
    // The library's least-recently-used cache needs room for three: one in each of its queues.
    private readonly ConcurrentLru<(string LenderId, string BorrowerId), Entry> _entries = new(Math.Max(3, maxBorrowers));
    private long _generation;
    // The latest generation whose first remembered history emptied the cache.
    private long _swept;

    /// <summary>Borrowers held (loosely, as entries are added and dropped concurrently).</summary>
    internal int Count => _entries.Count;

    /// <summary>
    /// One borrower's history since <see cref="Since"/>, sorted by time, as of <see cref="Generation"/>, with the stamps of
    /// the borrower's registry data and of the collector whose decision read it.
    /// </summary>
    public sealed class Entry(long generation, DateTimeOffset since, string collectorId, RegistryStamps stamp, List<Attempt> attempts)
    {
        public long Generation { get; } = generation;

        public DateTimeOffset Since { get; private set; } = since;

        public string CollectorId { get; } = collectorId;

        public RegistryStamps Stamp { get; } = stamp;

        public List<Attempt> Attempts { get; } = attempts;

        /// <summary>Only the window from <paramref name="since"/> on is kept (what the policy's rules read).</summary>
        public void Prune(DateTimeOffset since)
        {
            if (since <= Since)
            {
                return;
            }

            var kept = Attempts.FindIndex(a => a.At >= since);
            Attempts.RemoveRange(0, kept < 0 ? Attempts.Count : kept);
            Since = since;
        }

        /// <summary>In time order: before the first attempt that is later (a reservation sorts before an event at the same instant).</summary>
        public void Add(Attempt reservation)
        {
            var at = Attempts.FindIndex(a => a.At > reservation.At);
            Attempts.Insert(at < 0 ? Attempts.Count : at, reservation);
        }
    }

    /// <summary>Taken before the store is read for <see cref="Remember"/>.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>A write transaction that may have changed histories or stamps has ended (committed or not).</summary>
    public void Invalidate() => Interlocked.Increment(ref _generation);

    /// <summary>
    /// The borrower's remembered history, if nothing was written since it was read, it reaches back to
    /// <paramref name="since"/> and its collector's stamp is the one asked for. Under the borrower's turn.
    /// </summary>
    public Entry? TryGet(string lenderId, string borrowerId, string collectorId, DateTimeOffset since)
    {
        if (!_entries.TryGet((lenderId, borrowerId), out var entry) || entry.Generation != Generation || entry.Since > since
            || !string.Equals(entry.CollectorId, collectorId, StringComparison.Ordinal))
        {
            return null;
        }

        entry.Prune(since);
        return entry;
    }

    /// <summary>Remembers a history read from the store, with the generation taken before the read. Under the borrower's turn.</summary>
    public Entry Remember(string lenderId, string borrowerId, string collectorId, long generation, DateTimeOffset since, RegistryStamps stamp, List<Attempt> attempts)
    {
        var entry = new Entry(generation, since, collectorId, stamp, attempts);
        // Every entry of an earlier generation is of no use any more. One that a concurrent decision remembers at an
        // older generation after this may stay until the next sweep (it is never used); one at this generation that
        // lands before the sweep is dropped with the rest, and read again.
        var swept = Volatile.Read(ref _swept);
        while (generation > swept)
        {
            var was = Interlocked.CompareExchange(ref _swept, generation, swept);
            if (was == swept)
            {
                _entries.Clear();
                break;
            }

            swept = was;
        }

        _entries.AddOrUpdate((lenderId, borrowerId), entry);
        return entry;
    }
}
