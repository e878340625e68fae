using Compliance.Domain.Registry;

namespace Compliance.Storage;

/// <summary>One page of a keyset-paged list; <see cref="NextAfter"/> is the last key, or null at the end.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextAfter);

/// <summary>Lenders and their API keys.</summary>
public interface ITenantStore
{
    Task<bool> AnyLenderAsync(CancellationToken ct);
    Task<Lender?> GetLenderAsync(string lenderId, CancellationToken ct);
    /// <summary>Creates a lender; false when the id is taken.</summary>
    Task<bool> CreateLenderAsync(Lender lender, CancellationToken ct);
    Task CreateApiKeyAsync(ApiKey key, CancellationToken ct);
    Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken ct);
    Task<Page<ApiKey>> ListApiKeysAsync(string lenderId, int limit, string? after, CancellationToken ct);
    Task<ApiKey?> RevokeApiKeyAsync(string lenderId, string keyId, DateTimeOffset at, CancellationToken ct);
}

/// <summary>Accounts, flags, agencies and collectors, always scoped to one lender.</summary>
public interface IRegistryStore
{
    /// <summary>Creates or replaces an account, keeping its flags; returns the stored account and whether it was new.</summary>
    Task<(Account Account, bool Created)> UpsertAccountAsync(Account account, CancellationToken ct);

    /// <summary>
    /// Upserts several accounts in one transaction (all or none), in order: the registry's group commit of concurrent
    /// upserts. An account named twice is updated by the second.
    /// </summary>
    Task<IReadOnlyList<(Account Account, bool Created)>> UpsertAccountsAsync(IReadOnlyList<Account> accounts, CancellationToken ct);
    Task<Account?> GetAccountAsync(string lenderId, string accountId, CancellationToken ct);
    /// <summary>
    /// Every account of the borrower, with who it lists and its flags (a consumer's requests apply to all the borrower's
    /// debts). Reading flags waits for a transaction that is writing them (the ingest's, on SQL Server): the ingest reads
    /// these before its batch writes anything.
    /// </summary>
    Task<IReadOnlyList<Account>> AccountsOfBorrowerAsync(string lenderId, string borrowerId, CancellationToken ct);

    /// <summary>
    /// The accounts of a list that exist, with their flags, read together (a batch of events' first look at its accounts):
    /// each as <see cref="GetAccountAsync"/> would return it.
    /// </summary>
    Task<IReadOnlyDictionary<string, Account>> GetAccountsAsync(string lenderId, IReadOnlyCollection<string> accountIds, CancellationToken ct);

    /// <summary>
    /// Each listed borrower's accounts, with their flags, read together: every borrower of the list is a key, with the
    /// list <see cref="AccountsOfBorrowerAsync"/> would return (empty when the borrower has none).
    /// </summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<Account>>> AccountsOfBorrowersAsync(string lenderId, IReadOnlyCollection<string> borrowerIds, CancellationToken ct);

    Task<Page<Account>> ListAccountsAsync(string lenderId, string? borrowerId, int limit, string? after, CancellationToken ct);
    /// <summary>Adds a flag to an existing account; null when the account does not exist.</summary>
    Task<Flag?> AddFlagAsync(string lenderId, string accountId, Flag flag, DateTimeOffset now, CancellationToken ct);
    /// <summary>Ends a flag from <paramref name="at"/>, recording the key that cleared it and the reason it gave; null when no such flag is on the account.</summary>
    Task<Flag?> ClearFlagAsync(string lenderId, string accountId, string flagId, DateTimeOffset at, DateTimeOffset now, CancellationToken ct,
        string clearedBy = "", string reason = "");

    Task UpsertAgencyAsync(Agency agency, CancellationToken ct);
    Task<Page<Agency>> ListAgenciesAsync(string lenderId, int limit, string? after, CancellationToken ct);
    /// <summary>Stores the collector, noting when it was made inactive (<paramref name="now"/>), and returns it as stored.</summary>
    Task<Collector> UpsertCollectorAsync(Collector collector, DateTimeOffset now, CancellationToken ct);
    Task<Collector?> GetCollectorAsync(string lenderId, string collectorId, CancellationToken ct);
    Task<Page<Collector>> ListCollectorsAsync(string lenderId, string? agencyId, int limit, string? after, CancellationToken ct);
}

/// <summary>A provider's store: schema management plus every store interface.</summary>
public interface IComplianceStore : ITenantStore, IRegistryStore, IGateStore, IPolicyStore, IEventStore, ILedgerStore, IReportStore
{
    /// <summary>Applies pending schema migrations; refuses a database whose schema is newer than this binary knows.</summary>
    Task<SchemaStatus> MigrateAsync(CancellationToken ct);
    /// <summary>Cheap round trip to the database, for health checks.</summary>
    Task<bool> PingAsync(CancellationToken ct);
}

/// <summary>The schema version before and after migration.</summary>
public sealed record SchemaStatus(int PreviousVersion, int CurrentVersion, IReadOnlyList<string> Applied);

/// <summary>The database's schema is newer than this binary; running would risk corrupting it.</summary>
public sealed class SchemaTooNewException(int databaseVersion, int knownVersion)
    : Exception($"The database schema is version {databaseVersion}, but this build of the service knows only up to version {knownVersion}. Upgrade the service (or point it at another database); it will not run against a newer schema.")
{
    public int DatabaseVersion { get; } = databaseVersion;
    public int KnownVersion { get; } = knownVersion;
}
