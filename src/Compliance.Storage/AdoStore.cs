using System.Data;
using System.Data.Common;
using System.Reflection;
using System.Text.Json;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;

namespace Compliance.Storage;

/// <summary>
/// The store over ADO.NET. Holds every query and its mapping; <see cref="SqliteStore"/> and
/// <see cref="SqlServerStore"/> override only connection handling, paging and error codes.
/// </summary>
public abstract partial class AdoStore : IComplianceStore
{
    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Folder of this provider's schema scripts among the embedded resources, e.g. "Sqlite".</summary>
    protected abstract string SchemaFolder { get; }

    /// <summary>Appended to an ordered SELECT to return at most @limit rows.</summary>
    protected abstract string LimitClause { get; }

    protected abstract DbConnection CreateConnection();

    /// <summary>Whether an exception is a primary-key or unique-index violation.</summary>
    protected abstract bool IsUniqueViolation(DbException e);

    /// <summary>Creates the schema_version table when missing (its DDL differs per provider).</summary>
    protected abstract string CreateSchemaVersionTable { get; }

    protected virtual async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = CreateConnection();
        await connection.OpenAsync(ct);
        return connection;
    }

    protected virtual ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct) =>
        connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);

    // ---- schema ----

    public virtual async Task<SchemaStatus> MigrateAsync(CancellationToken ct)
    {
        var scripts = SchemaScripts();
        var known = scripts.Count == 0 ? 0 : scripts[^1].Version;
        await using var connection = await OpenAsync(ct);
        await ExecuteAsync(connection, null, CreateSchemaVersionTable, ct);
        var previous = Convert.ToInt32(await ScalarAsync(connection, null, Sql.SelectSchemaVersion, ct));
        if (previous > known)
        {
            throw new SchemaTooNewException(previous, known);
        }

        var applied = new List<string>();
        foreach (var script in scripts.Where(s => s.Version > previous))
        {
            await using var tx = await BeginWriteAsync(connection, ct);
            // "GO" alone on a line separates batches (SQL Server compiles a batch before running it, so a column
            // added in one batch can be indexed only in the next).
            foreach (var batch in BatchSeparator().Split(script.Text).Where(b => !string.IsNullOrWhiteSpace(b)))
            {
                await ExecuteAsync(connection, tx, batch, ct);
            }

            if (script.Version == RowsBoundFromVersion)
            {
                await BindExistingRowsAsync(connection, tx, DateTimeOffset.UtcNow, ct);
            }

            await ExecuteAsync(connection, tx, Sql.InsertSchemaVersion, ct,
                ("version", script.Version), ("description", script.Name), ("applied_at", ToMs(DateTimeOffset.UtcNow)));
            await tx.CommitAsync(ct);
            applied.Add(script.Name);
        }

        return new SchemaStatus(previous, Math.Max(previous, known), applied);
    }

    /// <summary>The embedded scripts of this provider, ordered by their numeric prefix ("0001_registry.sql").</summary>
    internal IReadOnlyList<(int Version, string Name, string Text)> SchemaScripts()
    {
        var assembly = typeof(AdoStore).Assembly;
        var prefix = $"{assembly.GetName().Name}.Schema.{SchemaFolder}.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var name = n[prefix.Length..^4];
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return (Version: int.Parse(name[..name.IndexOf('_', StringComparison.Ordinal)]), Name: name, Text: reader.ReadToEnd());
            })
            .OrderBy(s => s.Version)
            .ToList();
    }

    public async Task<bool> PingAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return Convert.ToInt32(await ScalarAsync(connection, null, Sql.Ping, ct)) == 1;
    }

    // ---- lenders and keys ----

    public async Task<bool> AnyLenderAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return Convert.ToInt64(await ScalarAsync(connection, null, Sql.AnyLender, ct)) > 0;
    }

    public async Task<Lender?> GetLenderAsync(string lenderId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var rows = await QueryAsync(connection, Sql.SelectLender, ReadLender, ct, ("lender_id", lenderId));
        return rows.FirstOrDefault();
    }

    public async Task<bool> CreateLenderAsync(Lender lender, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        try
        {
            await ExecuteWriteAsync(connection, Sql.InsertLender, ct,
                ("lender_id", lender.LenderId), ("display_name", lender.DisplayName), ("country_code", lender.CountryCode), ("created_at", ToMs(lender.CreatedAt)));
            return true;
        }
        catch (DbException e) when (IsUniqueViolation(e))
        {
            return false;
        }
    }

    public async Task CreateApiKeyAsync(ApiKey key, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteWriteAsync(connection, Sql.InsertApiKey, ct,
            ("key_id", key.KeyId), ("lender_id", key.LenderId), ("role", (int)key.Role), ("display_name", key.DisplayName),
            ("secret_hash", key.SecretHash), ("created_at", ToMs(key.CreatedAt)));
    }

    public async Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await QueryAsync(connection, Sql.SelectApiKey, ReadApiKey, ct, ("key_id", keyId))).FirstOrDefault();
    }

    public async Task<Page<ApiKey>> ListApiKeysAsync(string lenderId, int limit, string? after, CancellationToken ct)
    {
        return await PageAsync(Sql.ListApiKeys, ReadApiKey, k => k.KeyId, limit, after, ct, ("lender_id", lenderId));
    }

    public async Task<ApiKey?> RevokeApiKeyAsync(string lenderId, string keyId, DateTimeOffset at, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteWriteAsync(connection, Sql.RevokeApiKey, ct, ("lender_id", lenderId), ("key_id", keyId), ("revoked_at", ToMs(at)));
        return (await QueryAsync(connection, Sql.SelectApiKeyOfLender, ReadApiKey, ct, ("lender_id", lenderId), ("key_id", keyId))).FirstOrDefault();
    }

    // ---- accounts ----

    /// <summary>Moves on the registry stamp of an account's borrower, in the caller's transaction (see schema 0015).</summary>
    protected virtual string BumpRegistryStampSql => Sql.BumpRegistryStamp;

    private protected Task<int> BumpRegistryStampAsync(DbConnection connection, DbTransaction tx, string lenderId, string accountId, CancellationToken ct) =>
        ExecuteAsync(connection, tx, BumpRegistryStampSql, ct, ("lender_id", lenderId), ("account_id", accountId));

    public async Task<(Account Account, bool Created)> UpsertAccountAsync(Account account, CancellationToken ct)
    {
        // Update-then-insert in one transaction works on every provider; a concurrent insert of the same
        // account surfaces as a unique violation and is retried once as an update.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await UpsertAccountOnceAsync(account, ct);
            }
            catch (DbException e) when (attempt == 0 && IsUniqueViolation(e))
            {
            }
        }
    }

    public async Task<IReadOnlyList<(Account Account, bool Created)>> UpsertAccountsAsync(IReadOnlyList<Account> accounts, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var results = new List<(Account, bool)>(accounts.Count);
        foreach (var account in accounts)
        {
            results.Add(await UpsertAccountInAsync(connection, tx, account, ct));
        }

        await tx.CommitAsync(ct);
        return results;
    }

    private async Task<(Account, bool)> UpsertAccountOnceAsync(Account account, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var result = await UpsertAccountInAsync(connection, tx, account, ct);
        await tx.CommitAsync(ct);
        return result;
    }

    /// <summary>Writes an account (update, or insert when new), its contact index and its ledger entry, in the caller's transaction.</summary>
    private async Task<(Account, bool)> UpsertAccountInAsync(DbConnection connection, DbTransaction tx, Account account, CancellationToken ct)
    {
        var key = new (string, object?)[] { ("lender_id", account.LenderId), ("account_id", account.AccountId) };
        var existing = (await QueryAsync(connection, Sql.SelectAccountRevision, r => (Revision: r.GetInt64(0), CreatedAt: FromMs(r.GetInt64(1))), ct, tx, key)).FirstOrDefault();
        var created = existing == default;
        var updatedAt = FromMs(ToMs(account.UpdatedAt));
        var stored = account with
        {
            Revision = created ? 1 : existing.Revision + 1,
            CreatedAt = created ? updatedAt : existing.CreatedAt,
            UpdatedAt = updatedAt,
        };
        if (!created)
        {
            // The borrower the account leaves (when it moves) sees the change too.
            await BumpRegistryStampAsync(connection, tx, account.LenderId, account.AccountId, ct);
        }

        var document = JsonSerializer.Serialize(new AccountDocument(stored.ContactPoints, stored.Parties, stored.Profiles, stored.InconvenientTimes, stored.Location.TimeZoneConfirmed), JsonOptions);
        (string Name, object? Value)[] values =
        [
            ("lender_id", stored.LenderId), ("account_id", stored.AccountId), ("borrower_id", stored.BorrowerId), ("borrower_name", stored.BorrowerName),
            ("country_code", stored.Location.CountryCode), ("region", stored.Location.Region), ("postal_code", stored.Location.PostalCode),
            ("time_zone", stored.Location.TimeZone), ("document", document), ("created_at", ToMs(stored.CreatedAt)),
            ("updated_at", ToMs(stored.UpdatedAt)), ("revision", stored.Revision),
        ];
        await ExecuteAsync(connection, tx, created ? Sql.InsertAccount : Sql.UpdateAccount, ct, values);

        await ExecuteAsync(connection, tx, Sql.DeleteContactIndex, ct, key);
        foreach (var (point, party) in stored.AllContactPoints())
        {
            await ExecuteAsync(connection, tx, Sql.InsertContactIndex, ct, ("lender_id", stored.LenderId), ("account_id", stored.AccountId),
                ("contact_point_id", point.ContactPointId), ("party_id", party?.PartyId ?? ""), ("value_hash", point.ValueHash));
        }

        // Who a number belonged to, and when, is evidence: which contact points and parties the account had at each revision.
        // An update keeps created_at, which the values carry as stored.
        var row = BoundTable.Accounts.Bind(stored.AccountId, values);
        await AppendOneAsync(connection, tx, stored.LenderId, LedgerKind.AccountChanged, $"{stored.AccountId}@{stored.Revision}", stored.AccountId, stored.UpdatedAt, new
        {
            stored.AccountId,
            stored.BorrowerId,
            stored.Revision,
            stored.Location,
            stored.ContactPoints,
            Parties = stored.Parties.Select(p => new { p.PartyId, p.Role, p.Related, p.ContactPoints }),
            stored.Profiles,
            stored.InconvenientTimes,
        }, ct, row);
        await BumpRegistryStampAsync(connection, tx, stored.LenderId, stored.AccountId, ct);
        var flags = await QueryAsync(connection, Sql.SelectFlagsOfAccount, ReadFlag, ct, tx, key);
        return (stored with { Flags = flags }, created);
    }

    public async Task<Account?> GetAccountAsync(string lenderId, string accountId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var key = new (string, object?)[] { ("lender_id", lenderId), ("account_id", accountId) };
        var account = (await QueryAsync(connection, Sql.SelectAccount, ReadAccount, ct, null, key)).FirstOrDefault();
        if (account is null)
        {
            return null;
        }

        return account with { Flags = await QueryAsync(connection, Sql.SelectFlagsOfAccount, ReadFlag, ct, null, key) };
    }

    public async Task<IReadOnlyList<Account>> AccountsOfBorrowerAsync(string lenderId, string borrowerId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var accounts = await QueryAsync(connection, Sql.AccountsOfBorrower, ReadAccount, ct, null, ("lender_id", lenderId), ("borrower_id", borrowerId));
        return await WithFlagsAsync(connection, lenderId, accounts, ct);
    }

    public async Task<IReadOnlyDictionary<string, Account>> GetAccountsAsync(string lenderId, IReadOnlyCollection<string> accountIds, CancellationToken ct)
    {
        if (accountIds.Count == 0)
        {
            return new Dictionary<string, Account>();
        }

        await using var connection = await OpenAsync(ct);
        var accounts = await QueryAsync(connection, Sql.AccountsIn(ListOf("@ids")), ReadAccount, ct, null, ("lender_id", lenderId), ("ids", Json(accountIds)));
        return (await WithFlagsAsync(connection, lenderId, accounts, ct)).ToDictionary(a => a.AccountId, StringComparer.Ordinal);
    }

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<Account>>> AccountsOfBorrowersAsync(string lenderId, IReadOnlyCollection<string> borrowerIds,
        CancellationToken ct)
    {
        var found = new Dictionary<string, IReadOnlyList<Account>>(borrowerIds.Count, StringComparer.Ordinal);
        foreach (var borrower in borrowerIds)
        {
            found[borrower] = [];
        }

        if (borrowerIds.Count == 0)
        {
            return found;
        }

        await using var connection = await OpenAsync(ct);
        var accounts = await QueryAsync(connection, Sql.AccountsOfBorrowersIn(ListOf("@ids")), ReadAccount, ct, null, ("lender_id", lenderId), ("ids", Json(borrowerIds)));
        foreach (var group in (await WithFlagsAsync(connection, lenderId, accounts, ct)).GroupBy(a => a.BorrowerId, StringComparer.Ordinal))
        {
            found[group.Key] = [.. group];
        }

        return found;
    }

    /// <summary>
    /// The accounts with their flags, read in one query for all of them, each account's in the order
    /// <see cref="Sql.SelectFlagsOfAccount"/> gives one account's (a query per account once made a borrower's or a page's
    /// accounts one statement more each).
    /// </summary>
    private async Task<List<Account>> WithFlagsAsync(DbConnection connection, string lenderId, IReadOnlyList<Account> accounts, CancellationToken ct)
    {
        if (accounts.Count == 0)
        {
            return [];
        }

        var flags = new Dictionary<string, List<Flag>>(StringComparer.Ordinal);
        foreach (var (accountId, flag) in await QueryAsync(connection, Sql.FlagsOfAccountsIn(ListOf("@ids")), r => (r.GetString(14), ReadFlag(r)), ct, null,
            ("lender_id", lenderId), ("ids", Json(accounts.Select(a => a.AccountId)))))
        {
            if (!flags.TryGetValue(accountId, out var list))
            {
                flags[accountId] = list = [];
            }

            list.Add(flag);
        }

        return [.. accounts.Select(a => a with { Flags = flags.TryGetValue(a.AccountId, out var set) ? set : [] })];
    }

    public async Task<Page<Account>> ListAccountsAsync(string lenderId, string? borrowerId, int limit, string? after, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var page = string.IsNullOrEmpty(borrowerId)
            ? await PageAsync(connection, Sql.ListAccounts, ReadAccount, a => a.AccountId, limit, after, ct, ("lender_id", lenderId))
            : await PageAsync(connection, Sql.ListAccountsOfBorrower, ReadAccount, a => a.AccountId, limit, after, ct, ("lender_id", lenderId), ("borrower_id", borrowerId));
        return page with { Items = await WithFlagsAsync(connection, lenderId, page.Items, ct) };
    }

    public async Task<Flag?> AddFlagAsync(string lenderId, string accountId, Flag flag, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var exists = (await QueryAsync(connection, Sql.SelectAccountRevision, r => r.GetInt64(0), ct, tx,
            ("lender_id", lenderId), ("account_id", accountId))).Count > 0;
        if (!exists)
        {
            return null;
        }

        var row = await InsertFlagAsync(connection, tx, lenderId, accountId, flag, now, ct);
        await BumpRegistryStampAsync(connection, tx, lenderId, accountId, ct);
        await AppendOneAsync(connection, tx, lenderId, LedgerKind.FlagSet, flag.FlagId, accountId, now, flag, ct, row);
        await tx.CommitAsync(ct);
        return flag;
    }

    /// <summary>Inserts a flag and returns its row's binding, hashed from the values written (the clear columns start empty).</summary>
    private static async Task<RowRef> InsertFlagAsync(DbConnection connection, DbTransaction tx, string lenderId, string accountId, Flag flag, DateTimeOffset now,
        CancellationToken ct)
    {
        var values = FlagValues(lenderId, accountId, flag, now);
        await ExecuteAsync(connection, tx, Sql.InsertFlag, ct, values);
        return FlagBinding(flag, values);
    }

    /// <summary>The parameters of <see cref="Sql.InsertFlag"/>, in its order.</summary>
    private static (string Name, object? Value)[] FlagValues(string lenderId, string accountId, Flag flag, DateTimeOffset now) =>
    [
        ("lender_id", lenderId), ("account_id", accountId), ("flag_id", flag.FlagId), ("type", (int)flag.Type),
        ("effective_from", ToMs(flag.EffectiveFrom)), ("expires_at", ToMsOrNull(flag.ExpiresAt)), ("channel", (int)flag.Channel),
        ("party_id", flag.PartyId), ("contact_point_id", flag.ContactPointId), ("note", flag.Note), ("set_by", flag.SetBy),
        ("window_from", ToMsOrNull(flag.WindowFrom)), ("source", flag.Source), ("created_at", ToMs(now)),
    ];

    /// <summary>A new flag row's binding, hashed from the values written (the clear columns start empty).</summary>
    private static RowRef FlagBinding(Flag flag, (string Name, object? Value)[] values) =>
        BoundTable.Flags.Bind(flag.FlagId, [.. values, ("cleared_at", null), ("cleared_by", null), ("clear_reason", null)]);

    public async Task<Flag?> ClearFlagAsync(string lenderId, string accountId, string flagId, DateTimeOffset at, DateTimeOffset now, CancellationToken ct,
        string clearedBy = "", string reason = "")
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var key = new (string, object?)[] { ("lender_id", lenderId), ("account_id", accountId), ("flag_id", flagId) };
        var cleared = await ExecuteAsync(connection, tx, Sql.ClearFlag, ct, [.. key, ("cleared_at", ToMs(at)), ("cleared_by", clearedBy), ("clear_reason", reason)]) == 1;
        var flag = (await QueryAsync(connection, Sql.SelectFlag, ReadFlag, ct, tx, key)).FirstOrDefault();
        if (cleared && flag is not null)
        {
            // The ledger records when the change was made (the server's time), whatever time the caller says it took effect.
            await BumpRegistryStampAsync(connection, tx, lenderId, accountId, ct);
            await AppendOneAsync(connection, tx, lenderId, LedgerKind.FlagCleared, flagId, accountId, now, flag, ct,
                await BindStoredRowAsync(connection, tx, BoundTable.Flags, lenderId, flagId, ct));
        }

        await tx.CommitAsync(ct);
        return flag;
    }

    // ---- agencies and collectors ----

    public Task UpsertAgencyAsync(Agency agency, CancellationToken ct) =>
        UpsertAsync(Sql.UpdateAgency, Sql.InsertAgency, ct,
            ("lender_id", agency.LenderId), ("agency_id", agency.AgencyId), ("display_name", agency.DisplayName), ("active", agency.Active));

    public async Task<Page<Agency>> ListAgenciesAsync(string lenderId, int limit, string? after, CancellationToken ct)
    {
        return await PageAsync(Sql.ListAgencies, r => new Agency(r.GetString(0), r.GetString(1), r.GetString(2), r.GetBoolean(3)), a => a.AgencyId, limit, after, ct,
            ("lender_id", lenderId));
    }

    public async Task<Collector> UpsertCollectorAsync(Collector collector, DateTimeOffset now, CancellationToken ct)
    {
        await UpsertAsync(Sql.UpdateCollector, Sql.InsertCollector, ct,
            ("lender_id", collector.LenderId), ("collector_id", collector.CollectorId), ("agency_id", collector.AgencyId),
            ("display_name", collector.DisplayName), ("kind", (int)collector.Kind), ("active", collector.Active), ("now", ToMs(now)));
        return await GetCollectorAsync(collector.LenderId, collector.CollectorId, ct)
            ?? throw new InvalidOperationException($"Collector {collector.CollectorId} was not stored.");
    }

    public async Task<Collector?> GetCollectorAsync(string lenderId, string collectorId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await QueryAsync(connection, Sql.SelectCollector, ReadCollector, ct, ("lender_id", lenderId), ("collector_id", collectorId))).FirstOrDefault();
    }

    public async Task<Page<Collector>> ListCollectorsAsync(string lenderId, string? agencyId, int limit, string? after, CancellationToken ct)
    {
        return string.IsNullOrEmpty(agencyId)
            ? await PageAsync(Sql.ListCollectors, ReadCollector, c => c.CollectorId, limit, after, ct, ("lender_id", lenderId))
            : await PageAsync(Sql.ListCollectorsOfAgency, ReadCollector, c => c.CollectorId, limit, after, ct, ("lender_id", lenderId), ("agency_id", agencyId));
    }

    // ---- helpers ----

    private async Task UpsertAsync(string update, string insert, CancellationToken ct, params (string, object?)[] parameters)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var connection = await OpenAsync(ct);
            try
            {
                await using var tx = await BeginWriteAsync(connection, ct);
                if (await ExecuteAsync(connection, tx, update, ct, parameters) == 0)
                {
                    await ExecuteAsync(connection, tx, insert, ct, parameters);
                }

                await tx.CommitAsync(ct);
                return;
            }
            catch (DbException e) when (attempt == 0 && IsUniqueViolation(e))
            {
            }
        }
    }

    /// <summary>One page of a list ordered by its key: the rows after <paramref name="after"/>, and the key to go on from.</summary>
    private async Task<Page<T>> PageAsync<T>(string sql, Func<DbDataReader, T> read, Func<T, string> key, int limit, string? after, CancellationToken ct,
        params (string Name, object? Value)[] filters)
    {
        await using var connection = await OpenAsync(ct);
        return await PageAsync(connection, sql, read, key, limit, after, ct, filters);
    }

    private async Task<Page<T>> PageAsync<T>(DbConnection connection, string sql, Func<DbDataReader, T> read, Func<T, string> key, int limit, string? after,
        CancellationToken ct, params (string Name, object? Value)[] filters)
    {
        // One row more than the page tells whether another page follows.
        var rows = await QueryAsync(connection, sql + LimitClause, read, ct, [.. filters, ("after", after ?? ""), ("limit", limit + 1)]);
        return rows.Count > limit ? new Page<T>(rows.Take(limit).ToList(), key(rows[limit - 1])) : new Page<T>(rows, null);
    }

    /// <summary>One statement in a write transaction of its own, so it takes its turn with the other writers (see <see cref="BeginWriteAsync"/>).</summary>
    protected async Task<int> ExecuteWriteAsync(DbConnection connection, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var tx = await BeginWriteAsync(connection, ct);
        var rows = await ExecuteAsync(connection, tx, sql, ct, parameters);
        await tx.CommitAsync(ct);
        return rows;
    }

    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        using var activity = StoreTelemetry.Command(sql);
        await using var command = Command(connection, tx, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        using var activity = StoreTelemetry.Command(sql);
        await using var command = Command(connection, tx, sql, parameters);
        return await command.ExecuteScalarAsync(ct);
    }

    protected static Task<IReadOnlyList<T>> QueryAsync<T>(DbConnection connection, string sql, Func<DbDataReader, T> read, CancellationToken ct, params (string Name, object? Value)[] parameters) =>
        QueryAsync(connection, sql, read, ct, null, parameters);

    protected static async Task<IReadOnlyList<T>> QueryAsync<T>(DbConnection connection, string sql, Func<DbDataReader, T> read, CancellationToken ct, DbTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        using var activity = StoreTelemetry.Command(sql);
        await using var command = Command(connection, tx, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    protected static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = TurnTransaction.Of(tx);
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }

        return command;
    }

    protected static long ToMs(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    protected static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static DateTimeOffset? FromMsOrNull(DbDataReader r, int i) => r.IsDBNull(i) ? null : FromMs(r.GetInt64(i));

    private static long? ToMsOrNull(DateTimeOffset? t) => t is { } value ? ToMs(value) : null;

    private static Lender ReadLender(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), FromMs(r.GetInt64(3)));

    private static ApiKey ReadApiKey(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), (Role)r.GetInt32(2), r.GetString(3), r.GetString(4), FromMs(r.GetInt64(5)), FromMsOrNull(r, 6));

    private static Collector ReadCollector(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (CollectorKind)r.GetInt32(4), r.GetBoolean(5),
            r.IsDBNull(6) ? null : FromMs(r.GetInt64(6))) { Stamp = r.GetInt64(7) };

    private static Flag ReadFlag(DbDataReader r) =>
        new(r.GetString(0), (FlagType)r.GetInt32(1), FromMs(r.GetInt64(2)), FromMsOrNull(r, 3), (Channel)r.GetInt32(4),
            r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8), FromMsOrNull(r, 9), FromMsOrNull(r, 10), r.GetInt32(11))
        {
            ClearedBy = r.IsDBNull(12) ? "" : r.GetString(12),
            ClearReason = r.IsDBNull(13) ? "" : r.GetString(13),
        };

    private static Account ReadAccount(DbDataReader r)
    {
        var document = JsonSerializer.Deserialize<AccountDocument>(r.GetString(8), JsonOptions)
            ?? throw new InvalidDataException($"Account {r.GetString(1)} has an empty document.");
        return new Account(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
            new Location(r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7), document.TimeZoneConfirmed),
            document.ContactPoints, document.Parties, [], document.Profiles, document.InconvenientTimes,
            FromMs(r.GetInt64(9)), FromMs(r.GetInt64(10)), r.GetInt64(11));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*GO\s*$", System.Text.RegularExpressions.RegexOptions.Multiline | System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex BatchSeparator();

    /// <summary>The parts of an account kept as one JSON document; the columns hold what is queried.</summary>
    private sealed record AccountDocument(
        IReadOnlyList<ContactPoint> ContactPoints,
        IReadOnlyList<Party> Parties,
        IReadOnlyList<string> Profiles,
        IReadOnlyList<LocalTimeRange> InconvenientTimes,
        bool TimeZoneConfirmed = false);
}
