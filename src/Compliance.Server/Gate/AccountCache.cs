using Compliance.Domain.Registry;
using Compliance.Server.Infrastructure;
using Compliance.Storage;

namespace Compliance.Server.Gate;

/// <summary>
/// Recently read accounts and collectors, so the gate and the stream do not query for every contact. Changes made
/// through this replica evict at once; changes made through another replica show after <see cref="Ttl"/>: 5 seconds
/// on SQL Server, where replicas write too, and 10 minutes on the embedded store, where this process is the only writer.
/// The gate does not wait for that: it keeps, per account, the borrower's registry stamp its cached data was read at
/// (<see cref="KnownStamp"/>), and a collector carries the stamp it was read at (<see cref="Collector.Stamp"/>); it
/// compares both with the stamps read under the borrower's lock, and reads again on a difference.
/// </summary>
internal sealed class AccountCache(IRegistryStore store, TimeProvider clock, Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options)
{
    public TimeSpan Ttl { get; } = string.Equals(options.Value.Store.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase)
        ? TimeSpan.FromMinutes(10)
        : TimeSpan.FromSeconds(5);

    private readonly ExpiringMap<(string, string), Account?> _accounts = new(options.Value.Gate.AccountCacheEntries);
    private readonly ExpiringMap<(string, string), Collector?> _collectors = new(options.Value.Gate.AccountCacheEntries);
    private readonly ExpiringMap<(string, string), IReadOnlyList<Account>?> _borrowers = new(options.Value.Gate.AccountCacheEntries);

    /// <summary>Per account: a registry stamp of its borrower taken before the cached account and borrower's accounts were read.</summary>
    private readonly ExpiringMap<(string, string), long> _stamps = new(options.Value.Gate.AccountCacheEntries);

    public ValueTask<Account?> AccountAsync(string lenderId, string accountId, CancellationToken ct) =>
        GetAsync(_accounts, (lenderId, accountId), static (s, key, token) => s.GetAccountAsync(key.Item1, key.Item2, token), ct);

    public ValueTask<Collector?> CollectorAsync(string lenderId, string collectorId, CancellationToken ct) =>
        GetAsync(_collectors, (lenderId, collectorId), static (s, key, token) => s.GetCollectorAsync(key.Item1, key.Item2, token), ct);

    /// <summary>Every account of the borrower at the lender, with who it lists and its flags (<see cref="IRegistryStore.AccountsOfBorrowerAsync"/>).</summary>
    public async ValueTask<IReadOnlyList<Account>> BorrowerAccountsAsync(string lenderId, string borrowerId, CancellationToken ct) =>
        await GetAsync(_borrowers, (lenderId, borrowerId), static async (s, key, token) => await s.AccountsOfBorrowerAsync(key.Item1, key.Item2, token), ct) ?? [];

    /// <summary>
    /// Reads the listed accounts that are not cached in one query, and then, of those for which
    /// <paramref name="readsBorrower"/> holds, the borrowers' accounts that are not cached in another: a batch of events
    /// about many accounts costs the store a few statements rather than two to four per account. What it reads is
    /// cached as <see cref="AccountAsync"/> and <see cref="BorrowerAccountsAsync"/> would cache it (an account that does
    /// not exist included), and is not kept if a change overlapped the read.
    /// </summary>
    public async Task PrefetchAsync(string lenderId, IEnumerable<string> accountIds, Func<Account, bool> readsBorrower, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var known = new List<Account>();
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in accountIds)
        {
            if (!_accounts.TryGet((lenderId, id), now, out var hit))
            {
                missing.Add(id);
            }
            else if (hit is not null)
            {
                known.Add(hit);
            }
        }

        if (missing.Count > 0)
        {
            var generation = _accounts.Generation;
            var loaded = await store.GetAccountsAsync(lenderId, missing, ct);
            foreach (var id in missing)
            {
                var account = loaded.GetValueOrDefault(id);
                _accounts.PutIfCurrent((lenderId, id), account, now + Ttl, generation);
                if (account is not null)
                {
                    known.Add(account);
                }
            }
        }

        var borrowers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var account in known)
        {
            if (readsBorrower(account) && !_borrowers.TryGet((lenderId, account.BorrowerId), now, out _))
            {
                borrowers.Add(account.BorrowerId);
            }
        }

        if (borrowers.Count > 0)
        {
            var generation = _borrowers.Generation;
            foreach (var (borrower, accounts) in await store.AccountsOfBorrowersAsync(lenderId, borrowers, ct))
            {
                _borrowers.PutIfCurrent((lenderId, borrower), accounts, now + Ttl, generation);
            }
        }
    }

    /// <summary>
    /// The borrower's registry stamp at or before which the cached account (and its borrower's accounts) were read, or
    /// null when unknown. Taken before the cached data is read: data read after it is as new or newer.
    /// </summary>
    public long? KnownStamp(string lenderId, string accountId) =>
        _stamps.TryGet((lenderId, accountId), clock.GetUtcNow(), out var stamp) ? stamp : null;

    /// <summary>
    /// The borrower's data changed since the account was cached (its stamp is now <paramref name="stamp"/>): drops the
    /// account and the borrower's accounts, then notes the stamp, so every read after this one loads data at least that new.
    /// </summary>
    public void Refresh(string lenderId, string accountId, string borrowerId, long stamp)
    {
        _accounts.Remove((lenderId, accountId));
        _borrowers.Remove((lenderId, borrowerId));
        _stamps.Put((lenderId, accountId), stamp, clock.GetUtcNow() + StampLifetime);
    }

    // A stamp stays true of the entries read after it however long they are kept (they are only ever read again newer).
    private static readonly TimeSpan StampLifetime = TimeSpan.FromDays(1);

    public void EvictAccount(string lenderId, string accountId) => _accounts.Remove((lenderId, accountId));

    public void EvictBorrower(string lenderId, string borrowerId) => _borrowers.Remove((lenderId, borrowerId));

    public void EvictCollector(string lenderId, string collectorId) => _collectors.Remove((lenderId, collectorId));

    // A hit completes synchronously and allocates nothing: the loader is a static lambda and the async part runs only on a miss.
    private ValueTask<T?> GetAsync<T>(ExpiringMap<(string, string), T?> entries, (string, string) key, Func<IRegistryStore, (string, string), CancellationToken, Task<T?>> load, CancellationToken ct)
        where T : class
    {
        var now = clock.GetUtcNow();
        return entries.TryGet(key, now, out var hit) ? ValueTask.FromResult(hit) : LoadAsync(entries, key, load, now, ct);
    }

    /// <remarks>
    /// A load that overlapped a change (an eviction) may have read the store before it: its value answers this caller
    /// but is not kept, or the cache would serve the old account (without a cease flag set meanwhile, say) for a whole
    /// <see cref="Ttl"/>.
    /// </remarks>

    private async ValueTask<T?> LoadAsync<T>(ExpiringMap<(string, string), T?> entries, (string, string) key, Func<IRegistryStore, (string, string), CancellationToken, Task<T?>> load,
        DateTimeOffset now, CancellationToken ct)
        where T : class
    {
        var generation = entries.Generation;
        var value = await load(store, key, ct);
        entries.PutIfCurrent(key, value, now + Ttl, generation);
        return value;
    }
}
