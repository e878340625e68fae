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
/// used: every write that moves the generation on drops it all. Under ingest (a write every group commit), and with the
/// release of lapsed reservations (a write every few seconds), it holds the borrowers decided since the last write,
/// not a second copy of the ingest's windows.
/// </para>
/// </summary>
internal sealed class GateHistories(int maxBorrowers)
{
    // The library's least-recently-used cache needs room for three: one in each of its queues.
    private readonly ConcurrentLru<(string LenderId, string BorrowerId), Entry> _entries = new(Math.Max(3, maxBorrowers));
    private long _generation;
    // Whether anything was remembered since the last write dropped it all.
    private int _held;

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

    /// <summary>
    /// A write transaction that may have changed histories or stamps has ended (committed or not): every history
    /// remembered so far is of no use any more (a generation never comes back), and is dropped.
    /// </summary>
    /// <remarks>
    /// A history remembered concurrently, read before this write, may stay until the next one (it is never used); one
    /// read after it that lands before the drop goes with the rest, and is read again. Cheap when nothing is held, as
    /// between group commits under ingest.
    /// </remarks>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        if (Interlocked.Exchange(ref _held, 0) != 0)
        {
            _entries.Clear();
        }
    }

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
        _entries.AddOrUpdate((lenderId, borrowerId), entry);
        Volatile.Write(ref _held, 1);
        return entry;
    }
}
