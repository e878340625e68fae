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

    private readonly ConcurrentDictionary<(string, string), (Account? Value, DateTimeOffset Until)> _accounts = new();
    private readonly ConcurrentDictionary<(string, string), (Collector? Value, DateTimeOffset Until)> _collectors = new();

    public async ValueTask<Account?> AccountAsync(string lenderId, string accountId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_accounts.TryGetValue((lenderId, accountId), out var hit) && hit.Until > now)
        {
            return hit.Value;
        }

        var account = await store.GetAccountAsync(lenderId, accountId, ct);
        Put(_accounts, (lenderId, accountId), (account, now + Ttl));
        return account;
    }

    public async ValueTask<Collector?> CollectorAsync(string lenderId, string collectorId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_collectors.TryGetValue((lenderId, collectorId), out var hit) && hit.Until > now)
        {
            return hit.Value;
        }

        var collector = await store.GetCollectorAsync(lenderId, collectorId, ct);
        Put(_collectors, (lenderId, collectorId), (collector, now + Ttl));
        return collector;
    }

    public void EvictAccount(string lenderId, string accountId) => _accounts.TryRemove((lenderId, accountId), out _);

    public void EvictCollector(string lenderId, string collectorId) => _collectors.TryRemove((lenderId, collectorId), out _);

    private static void Put<T>(ConcurrentDictionary<(string, string), T> map, (string, string) key, T value)
    {
        if (map.Count >= MaxEntries)
        {
            map.Clear();
        }

        map[key] = value;
    }
}
