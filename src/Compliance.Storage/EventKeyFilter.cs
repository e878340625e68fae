namespace Compliance.Storage;

/// <summary>
/// A Bloom filter over the (lender, event id) keys in the event_keys table, so that checking a batch of new events
/// for duplicates does not probe the table for each of them: a key the filter has never seen is certainly not there;
/// about one in a hundred absent keys is probed anyway. Ten bits per key, seven hashes. Keys are only added: the
/// writer adds the keys it merges into the table before they leave the in-memory recent keys, so no stored key is
/// ever missed. A larger one is filled from the table beside the writer when it nears the keys it was sized for
/// (AdoStore.StartFilterIfDueAsync).
/// </summary>
internal sealed class EventKeyFilter
{
    private const int BitsPerKey = 10;
    private const int Hashes = 7;

    private readonly ulong[] _bits;
    private readonly ulong _size;
    private long _count;

    public EventKeyFilter(long capacity)
    {
        Capacity = Math.Max(capacity, 1 << 16);
        _size = (ulong)(Capacity * BitsPerKey);
        _bits = new ulong[(_size + 63) / 64];
    }

    /// <summary>How many keys it was sized for; beyond that, false positives grow.</summary>
    public long Capacity { get; }

    public long Count => Interlocked.Read(ref _count);

    public void Add(string lenderId, string eventId)
    {
        var (h1, h2) = Hash(lenderId, eventId);
        for (var i = 0; i < Hashes; i++)
        {
            var bit = (h1 + (ulong)i * h2) % _size;
            Interlocked.Or(ref _bits[bit / 64], 1UL << (int)(bit % 64));
        }

        Interlocked.Increment(ref _count);
    }

    public bool MayContain(string lenderId, string eventId)
    {
        var (h1, h2) = Hash(lenderId, eventId);
        for (var i = 0; i < Hashes; i++)
        {
            var bit = (h1 + (ulong)i * h2) % _size;
            if ((Volatile.Read(ref _bits[bit / 64]) & (1UL << (int)(bit % 64))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    // Two independent hashes combined as h1 + i*h2 (Kirsch and Mitzenmacher); string hashes are randomized per process,
    // which suits a filter that lives only in memory.
    private static (ulong, ulong) Hash(string lenderId, string eventId) =>
        ((uint)HashCode.Combine(lenderId, eventId) | ((ulong)(uint)HashCode.Combine(eventId, lenderId) << 32),
         (uint)HashCode.Combine(lenderId, eventId, 0x5bd1e995) | 1UL);
}
