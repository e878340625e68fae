using System.Collections.Concurrent;

namespace Compliance.Server.Infrastructure;

/// <summary>
/// A concurrent map whose entries expire, dropped all at once past a size limit. The size is kept in a counter:
/// asking a concurrent dictionary for its count takes every one of its locks.
/// <para>
/// A value loaded from a store while an entry was removed (the store changed meanwhile) may be older than the change:
/// a loader takes <see cref="Generation"/> before it reads, and <see cref="PutIfCurrent"/> keeps the value only if
/// nothing was removed since. Reads take no lock; puts and removals take one, so none falls between the check and the put.
/// </para>
/// </summary>
internal sealed class ExpiringMap<TKey, TValue>(int maxEntries)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, DateTimeOffset Until)> _map = new();
    private readonly Lock _changes = new();
    private long _generation;
    private int _count;

    /// <summary>Moves on at every removal: taken before a load, it tells whether the loaded value may be kept.</summary>
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

    /// <summary>Stores the value unless an entry was removed since <paramref name="generation"/> was taken; says whether it did.</summary>
    public bool PutIfCurrent(TKey key, TValue value, DateTimeOffset until, long generation)
    {
        lock (_changes)
        {
            if (Generation != generation)
            {
                return false;
            }

            Put(key, value, until);
            return true;
        }
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
            Interlocked.Increment(ref _generation);
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
            Interlocked.Increment(ref _generation);
            Drop();
        }
    }

    private void Drop()
    {
        _map.Clear();
        Interlocked.Exchange(ref _count, 0);
    }
}
