using System.Collections.Concurrent;

namespace Compliance.Server.Infrastructure;

/// <summary>
/// A concurrent map whose entries expire, dropped all at once past a size limit. The size is kept in a counter:
/// asking a concurrent dictionary for its count takes every one of its locks.
/// </summary>
internal sealed class ExpiringMap<TKey, TValue>(int maxEntries)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, DateTimeOffset Until)> _map = new();
    private int _count;

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

    public void Put(TKey key, TValue value, DateTimeOffset until)
    {
        if (!_map.TryAdd(key, (value, until)))
        {
            _map[key] = (value, until);
        }
        else if (Interlocked.Increment(ref _count) > maxEntries)
        {
            Clear();
            _map[key] = (value, until);
            Interlocked.Increment(ref _count);
        }
    }

    public void Remove(TKey key)
    {
        if (_map.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    public void Clear()
    {
        _map.Clear();
        Interlocked.Exchange(ref _count, 0);
    }
}
