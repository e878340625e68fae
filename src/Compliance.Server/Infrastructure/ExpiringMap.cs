using System.Collections.Concurrent;

namespace Compliance.Server.Infrastructure;

/// <summary>
/// A concurrent map whose entries expire, dropped all at once past a size limit. The size is kept in a counter:
/// asking a concurrent dictionary for its count takes every one of its locks.
/// <para>
/// A value loaded from a store while its entry was removed (the store changed meanwhile) may be older than the change:
/// a loader takes <see cref="Generation"/> before it reads, and <see cref="PutIfCurrent"/> keeps the value only if its
/// key was not removed since, and the map not cleared. The last <see cref="RemovalsKept"/> removals are remembered for
/// that; a load older than those is not kept. (Once any removal at all refused every load that overlapped it: with the
/// ingest evicting the accounts each commit changed, a batch's read of a hundred accounts was thrown away whenever a
/// commit landed during it.) Reads take no lock; puts and removals take one, so none falls between the check and the put.
/// </para>
/// </summary>
internal sealed class ExpiringMap<TKey, TValue>(int maxEntries)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, DateTimeOffset Until)> _map = new();
    private readonly Lock _changes = new();
    private long _generation;
    private int _count;

    /// <summary>How many of the latest removals <see cref="PutIfCurrent"/> can look through.</summary>
    public const int RemovalsKept = 1024;

    // The key removed at each generation, at generation % RemovalsKept; and the generation of the latest Clear.
    private readonly TKey?[] _removed = new TKey?[RemovalsKept];
    private long _clearedAt;

    /// <summary>Moves on at every removal and clear: taken before a load, it tells whether the loaded value may be kept.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>The value stored for the key, if it has not expired by <paramref name="now"/>.</summary>
    public bool TryGet(TKey key, DateTimeOffset now, out TValue value)
    {
        if (_map.TryGetValue(key, out var hit) && hit.Until > now)
        {
            value = hit.Value;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>
    /// Stores the value unless its key was removed, or the map cleared, since <paramref name="generation"/> was taken
    /// (or that was more than <see cref="RemovalsKept"/> removals ago); says whether it did.
    /// </summary>
    public bool PutIfCurrent(TKey key, TValue value, DateTimeOffset until, long generation)
    {
        lock (_changes)
        {
            if (!UnchangedSince(key, generation))
            {
                return false;
            }

            Put(key, value, until);
            return true;
        }
    }

    private bool UnchangedSince(TKey key, long generation)
    {
        var current = _generation;
        if (current == generation)
        {
            return true;
        }

        if (generation < _clearedAt || current - generation > RemovalsKept)
        {
            return false;
        }

        for (var g = generation + 1; g <= current; g++)
        {
            if (_removed[g % RemovalsKept] is { } removed && EqualityComparer<TKey>.Default.Equals(removed, key))
            {
                return false;
            }
        }

        return true;
    }

    public void Put(TKey key, TValue value, DateTimeOffset until)
    {
        if (!_map.TryAdd(key, (value, until)))
        {
            _map[key] = (value, until);
        }
        else if (Interlocked.Increment(ref _count) > maxEntries)
        {
            // Full: room is made, which changes nothing stored.
            Drop();
            _map[key] = (value, until);
            Interlocked.Increment(ref _count);
        }
    }

    public void Remove(TKey key)
    {
        lock (_changes)
        {
            _removed[Interlocked.Increment(ref _generation) % RemovalsKept] = key;
            if (_map.TryRemove(key, out _))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    /// <summary>Forgets every entry, as a change would (a load running meanwhile is not kept).</summary>
    public void Clear()
    {
        lock (_changes)
        {
            _clearedAt = Interlocked.Increment(ref _generation);
            _removed[_clearedAt % RemovalsKept] = default;
            Drop();
        }
    }

    private void Drop()
    {
        _map.Clear();
        Interlocked.Exchange(ref _count, 0);
    }
}
