using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace Compliance.Storage;

/// <summary>
/// A Bloom filter over the (lender, event id) keys in the event_keys table, so that checking a batch of new events
/// for duplicates does not probe the table for each of them: a key the filter has never seen is certainly not there;
/// about one in a hundred absent keys is probed anyway. Keys are only added: the writer adds the keys it merges into
/// the table before they leave the in-memory recent keys, so no stored key is ever missed. A larger one is filled from
/// the table beside the writer when it nears the keys it was sized for (AdoStore.StartFilterIfDueAsync).
/// </summary>
/// <remarks>
/// Blocked: a key sets one bit in each of the eight words of one 64-byte block, so adding or looking up a key touches
/// one cache line, where a classic filter of the same size touched seven far apart (the filter is megabytes, the
/// processor's cache is not). Ten bits per key keep the false positives near one in a hundred. Keys are hashed
/// as UTF-8 (the lender, then the event id seeded with the lender's hash), with a seed of the filter's own, so the key
/// table's bytes fill it without becoming strings.
/// </remarks>
internal sealed class EventKeyFilter
{
    private const int BitsPerKey = 10;
    private const int WordsPerBlock = 8;
    private const int MaxStackKey = 512;

    // Odd multipliers that pick each word's bit from the key's hash (multiply, keep the top six bits).
    private static readonly uint[] Spread = [0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xD3A2646D, 0xFD7046C5, 0xB55A4F09];

    private readonly ulong[] _words;
    private readonly ulong _blocks;
    private readonly long _seed = Random.Shared.NextInt64();
    private long _count;

    public EventKeyFilter(long capacity)
    {
        Capacity = Math.Max(capacity, 1 << 16);
        _blocks = (ulong)((Capacity * BitsPerKey + 511) / 512);
        _words = new ulong[_blocks * WordsPerBlock];
    }

    /// <summary>How many keys it was sized for; beyond that, false positives grow.</summary>
    public long Capacity { get; }

    public long Count => Interlocked.Read(ref _count);

    public void Add(string lenderId, string eventId) => Add(Hash(lenderId, eventId));

    /// <summary>Adds a key given as the UTF-8 bytes of its two parts, as the key table stores them.</summary>
    public void Add(ReadOnlySpan<byte> lenderId, ReadOnlySpan<byte> eventId) => Add(Hash(lenderId, eventId));

    public bool MayContain(string lenderId, string eventId)
    {
        var hash = Hash(lenderId, eventId);
        var block = Block(hash);
        for (var i = 0; i < WordsPerBlock; i++)
        {
            var bit = Bit(hash, i);
            if ((Volatile.Read(ref _words[block + i]) & bit) == 0)
            {
                return false;
            }
        }

        return true;
    }

    private void Add(ulong hash)
    {
        var block = Block(hash);
        for (var i = 0; i < WordsPerBlock; i++)
        {
            var bit = Bit(hash, i);
            // The filler and the writer add at once; a bit already set needs no locked write.
            if ((Volatile.Read(ref _words[block + i]) & bit) == 0)
            {
                Interlocked.Or(ref _words[block + i], bit);
            }
        }

        Interlocked.Increment(ref _count);
    }

    /// <summary>The first word of the key's block: the hash's high half scaled to the number of blocks.</summary>
    private long Block(ulong hash) => (long)(((hash >> 32) * _blocks) >> 32) * WordsPerBlock;

    private static ulong Bit(ulong hash, int word) => 1UL << (int)(((uint)hash * Spread[word]) >> 26);

    private ulong Hash(string lenderId, string eventId)
    {
        var length = Encoding.UTF8.GetMaxByteCount(lenderId.Length + eventId.Length);
        byte[]? rented = null;
        var buffer = length <= MaxStackKey ? stackalloc byte[MaxStackKey] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var lender = Encoding.UTF8.GetBytes(lenderId, buffer);
            var id = Encoding.UTF8.GetBytes(eventId, buffer[lender..]);
            return Hash(buffer[..lender], buffer.Slice(lender, id));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The event id hashed with the lender's hash as its seed, so the boundary between the parts counts.</summary>
    private ulong Hash(ReadOnlySpan<byte> lenderId, ReadOnlySpan<byte> eventId) =>
        XxHash3.HashToUInt64(eventId, (long)XxHash3.HashToUInt64(lenderId, _seed));
}
