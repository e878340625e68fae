using System.Collections.Concurrent;
using Compliance.Domain.Registry;
using Compliance.Storage;

namespace Compliance.Server.Gate;

/// <summary>
/// Recently read accounts and collectors, so the gate and the stream do not query for every contact. Changes made
/// through this replica evict at once; changes made through another replica show after <see cref="Ttl"/>: 5 seconds
/// on SQL Server, where replicas write too, and 10 minutes on the embedded store, where this process is the only writer.
/// </summary>
internal sealed class AccountCache(IRegistryStore store, TimeProvider clock, Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options)
{
    private const int MaxEntries = 200_000;

    public TimeSpan Ttl { get; } = string.Equals(options.Value.Store.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase)
        ? TimeSpan.FromMinutes(10)
        : TimeSpan.FromSeconds(5);

    private readonly Entries<Account> _accounts = new();
    private readonly Entries<Collector> _collectors = new();

    public ValueTask<Account?> AccountAsync(string lenderId, string accountId, CancellationToken ct) =>
        GetAsync(_accounts, (lenderId, accountId), static (s, key, token) => s.GetAccountAsync(key.Item1, key.Item2, token), ct);

    public ValueTask<Collector?> CollectorAsync(string lenderId, string collectorId, CancellationToken ct) =>
        GetAsync(_collectors, (lenderId, collectorId), static (s, key, token) => s.GetCollectorAsync(key.Item1, key.Item2, token), ct);

    public void EvictAccount(string lenderId, string accountId) => _accounts.Remove((lenderId, accountId));

    public void EvictCollector(string lenderId, string collectorId) => _collectors.Remove((lenderId, collectorId));

    // A hit completes synchronously and allocates nothing: the loader is a static lambda and the async part runs only on a miss.
    private ValueTask<T?> GetAsync<T>(Entries<T> entries, (string, string) key, Func<IRegistryStore, (string, string), CancellationToken, Task<T?>> load, CancellationToken ct)
        where T : class
    {
        var now = clock.GetUtcNow();
        return entries.TryGet(key, now) is { } hit ? ValueTask.FromResult(hit.Value) : LoadAsync(entries, key, load, now, ct);
    }

    private async ValueTask<T?> LoadAsync<T>(Entries<T> entries, (string, string) key, Func<IRegistryStore, (string, string), CancellationToken, Task<T?>> load,
        DateTimeOffset now, CancellationToken ct)
        where T : class
    {
        var value = await load(store, key, ct);
        entries.Put(key, value, now + Ttl);
        return value;
    }

    /// <summary>
    /// Entries with their expiry, dropped all at once past <see cref="MaxEntries"/>. The size is kept in a counter:
    /// asking a concurrent dictionary for its count takes every one of its locks.
    /// </summary>
    private sealed class Entries<T> where T : class
    {
        private readonly ConcurrentDictionary<(string, string), (T? Value, DateTimeOffset Until)> _map = new();
        private int _count;

        public (T? Value, DateTimeOffset Until)? TryGet((string, string) key, DateTimeOffset now) =>
            _map.TryGetValue(key, out var hit) && hit.Until > now ? hit : null;

        public void Put((string, string) key, T? value, DateTimeOffset until)
        {
            if (!_map.TryAdd(key, (value, until)))
            {
                _map[key] = (value, until);
            }
            else if (Interlocked.Increment(ref _count) > MaxEntries)
            {
                _map.Clear();
                Interlocked.Exchange(ref _count, 0);
                _map[key] = (value, until);
            }
        }

        public void Remove((string, string) key)
        {
            if (_map.TryRemove(key, out _))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }
}
