using System.Data.Common;
using System.Text.Json;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>Policies, decisions, reservations and attempts.</summary>
public abstract partial class AdoStore
{
    /// <summary>
    /// Takes an exclusive, transaction-scoped lock on a resource name, or null where the transaction itself
    /// already excludes other writers (SQLite's immediate transactions lock the whole database).
    /// </summary>
    protected virtual string? LockResourceSql => null;

    /// <summary>Lock names fit sp_getapplock's 255 characters: long ones are replaced by their SHA-256.</summary>
    protected static string LockName(string name) =>
        name.Length <= 200 ? name : "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)));

    public async Task<StoredPolicy> AddPolicyAsync(string lenderId, string document, DateTimeOffset effectiveAt, DateTimeOffset createdAt, string createdBy, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var connection = await OpenAsync(ct);
            try
            {
                await using var tx = await BeginWriteAsync(connection, ct);
                var version = Convert.ToInt32(await ScalarAsync(connection, tx, GateSql.NextPolicyVersion, ct, ("lender_id", lenderId)));
                var stored = new StoredPolicy(lenderId, version, FromMs(ToMs(effectiveAt)), document, FromMs(ToMs(createdAt)), createdBy);
                (string Name, object? Value)[] values =
                [
                    ("lender_id", lenderId), ("version", version),
                    ("effective_at", ToMs(stored.EffectiveAt)), ("document", document), ("created_at", ToMs(stored.CreatedAt)), ("created_by", createdBy),
                ];
                await ExecuteAsync(connection, tx, GateSql.InsertPolicy, ct, values);
                await AppendOneAsync(connection, tx, lenderId, LedgerKind.PolicyVersion, version.ToString(), "", stored.CreatedAt, stored, ct,
                    BoundTable.Policies.Bind(BoundTable.KeyText(version), values));
                await tx.CommitAsync(ct);
                return stored;
            }
            catch (DbException e) when (attempt < 3 && IsUniqueViolation(e))
            {
            }
        }
    }

    public async Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(string? lenderId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        static StoredPolicy Read(DbDataReader r) =>
            new(r.GetString(0), r.GetInt32(1), FromMs(r.GetInt64(2)), r.GetString(3), FromMs(r.GetInt64(4)), r.GetString(5));
        return lenderId is null
            ? await QueryAsync(connection, GateSql.ListAllPolicies, Read, ct)
            : await QueryAsync(connection, GateSql.ListPoliciesOfLender, Read, ct, ("lender_id", lenderId));
    }

    /// <summary>
    /// Decides under the borrower's lock and records the decision, its reservation and its ledger entry before it
    /// returns: here in one write transaction (on SQL Server under an application lock on the borrower);
    /// <see cref="SqliteStore"/> journals it instead of waiting for the database's single writer.
    /// </summary>
    public async Task<DecisionRecord> DecideAsync(string lenderId, string borrowerId, DateTimeOffset since, Func<IReadOnlyList<Attempt>, GateOutcome> decide, CancellationToken ct) =>
        (await DecideOnStampAsync(lenderId, borrowerId, "", since, (history, _) => decide(history), ct))!;

    public virtual async Task<DecisionRecord?> DecideOnStampAsync(string lenderId, string borrowerId, string collectorId, DateTimeOffset since,
        Func<IReadOnlyList<Attempt>, RegistryStamps, GateOutcome?> decide, CancellationToken ct)
    {
        using var activity = StoreTelemetry.Operation("store.decide");
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        if (LockResourceSql is { } lockSql)
        {
            await ExecuteAsync(connection, tx, lockSql, ct, ("resource", LockName($"borrower:{lenderId}:{borrowerId}")));
        }

        var stamp = await RegistryStampsAsync(connection, tx, lenderId, borrowerId, collectorId, ct);
        var history = await ReadHistoryAsync(connection, tx, lenderId, borrowerId, since, ct);
        if (decide(history, stamp) is not (var decision, var reservation))
        {
            return null;
        }

        var ledger = Ledger(connection, tx, ct);
        await WriteDecisionAsync(connection, tx, ledger, borrowerId, decision, reservation, ct);
        await ledger.FlushAsync();
        await tx.CommitAsync(ct);
        return decision;
    }

    /// <summary>The registry stamps and the borrower's attempts since a time, on one connection (the embedded store's decisions).</summary>
    private protected async Task<(RegistryStamps Stamp, List<Attempt> History)> StampAndHistoryAsync(string lenderId, string borrowerId, string collectorId,
        DateTimeOffset since, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var stamp = await RegistryStampsAsync(connection, null, lenderId, borrowerId, collectorId, ct);
        return (stamp, await ReadHistoryAsync(connection, null, lenderId, borrowerId, since, ct));
    }

    private static async Task<RegistryStamps> RegistryStampsAsync(DbConnection connection, DbTransaction? tx, string lenderId, string borrowerId, string collectorId,
        CancellationToken ct) =>
        (await QueryAsync(connection, Sql.SelectRegistryStamps, r => new RegistryStamps(r.GetInt64(0), r.GetInt64(1)), ct, tx,
            ("lender_id", lenderId), ("borrower_id", borrowerId), ("collector_id", collectorId))).Single();

    /// <summary>Writes a decision, the reservation of an allowed one and its ledger entry, in the caller's transaction.</summary>
    private protected static async Task WriteDecisionAsync(DbConnection connection, DbTransaction tx, LedgerAppender ledger, string borrowerId,
        DecisionRecord decision, Attempt? reservation, CancellationToken ct)
    {
        var row = await InsertDecisionAsync(connection, tx, decision, ct);
        if (reservation is { } attempt)
        {
            await InsertAttemptAsync(connection, tx, decision.LenderId, decision.DecisionId, borrowerId, attempt, decision.ReservedUntil, ct);
        }

        await ledger.AppendAsync(decision.LenderId, LedgerKind.Decision, decision.DecisionId, decision.AccountId, decision.EvaluatedAt, decision, row);
    }

    /// <summary>Whether a decision is in the database.</summary>
    private protected static async Task<bool> DecisionStoredAsync(DbConnection connection, DbTransaction tx, string lenderId, string decisionId, CancellationToken ct) =>
        await ScalarAsync(connection, tx, GateSql.DecisionStored, ct, ("lender_id", lenderId), ("decision_id", decisionId)) is not null;

    /// <summary>A decision answered but not yet in the database (see <see cref="SqliteStore"/>), or null.</summary>
    private protected virtual DecisionRecord? PendingDecision(string lenderId, string decisionId) => null;

    /// <summary>The reservations of the borrowers' decisions answered but not yet in the database (see <see cref="SqliteStore"/>).</summary>
    private protected virtual List<DecisionJournal.Entry>? PendingReservations(string lenderId, IReadOnlyCollection<string> borrowerIds) => null;

    /// <summary>
    /// Writes, into a write transaction already begun, the decisions answered since it began, so that its own reads
    /// and changes of reservations find them in the database (see <see cref="SqliteStore"/>).
    /// </summary>
    /// <param name="ledger">The transaction's own ledger appender, if it holds chain heads (an ingest session's).</param>
    private protected virtual Task CatchUpDecisionsAsync(DbConnection connection, DbTransaction tx, LedgerAppender? ledger, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// Refuses to answer "not there" for a decision the database has not taken yet (see <see cref="SqliteStore"/>):
    /// a change of its reservation would otherwise be lost. The caller's write fails, and is tried again later. (One
    /// this transaction wrote is still held in memory until it commits: that one is there.)
    /// </summary>
    private protected async Task ThrowIfNotWrittenYetAsync(DbConnection connection, DbTransaction tx, string lenderId, string decisionId, CancellationToken ct)
    {
        if (PendingDecision(lenderId, decisionId) is not null && !await DecisionStoredAsync(connection, tx, lenderId, decisionId, ct))
        {
            throw new DecisionNotWrittenException(decisionId);
        }
    }

    /// <summary>
    /// Has every decision answered so far written into the database, where reads of many decisions or of the ledger
    /// look; if the database will not take them, the read goes on with what is there. Nothing to do where decisions
    /// are written before they are answered.
    /// </summary>
    protected virtual Task SettleDecisionsAsync(CancellationToken ct) => Task.CompletedTask;

    public async Task<IReadOnlyList<Attempt>> HistoryAsync(string lenderId, string borrowerId, DateTimeOffset since, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await ReadHistoryAsync(connection, null, lenderId, borrowerId, since, ct);
    }

    public async Task<DecisionRecord?> GetDecisionAsync(string lenderId, string decisionId, CancellationToken ct)
    {
        if (PendingDecision(lenderId, decisionId) is { } pending)
        {
            return pending;
        }

        await using var connection = await OpenAsync(ct);
        return (await QueryAsync(connection, GateSql.SelectDecision, ReadDecision, ct, ("lender_id", lenderId), ("decision_id", decisionId))).FirstOrDefault();
    }

    public async Task<IReadOnlyList<DecisionRecord>> DecisionsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct)
    {
        await SettleDecisionsAsync(ct);
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, GateSql.DecisionsInPeriod + LimitClause, ReadDecision, ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("limit", limit));
    }

    public async Task<string?> ReleaseReservationAsync(string lenderId, string decisionId, DateTimeOffset at, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var released = await ExecuteAsync(connection, tx, GateSql.ReleaseReservation, ct,
            ("lender_id", lenderId), ("attempt_id", decisionId), ("released_at", ToMs(at)), ("pending", (int)AttemptOutcome.Pending)) == 1;
        if (!released)
        {
            await ThrowIfNotWrittenYetAsync(connection, tx, lenderId, decisionId, ct);
        }

        var borrower = released
            ? (string?)await ScalarAsync(connection, tx, GateSql.BorrowerOfAttempt, ct, ("lender_id", lenderId), ("attempt_id", decisionId))
            : null;
        await tx.CommitAsync(ct);
        return borrower;
    }

    public async Task<IReadOnlyList<(string LenderId, string DecisionId, string BorrowerId)>> ReleaseExpiredAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var parameters = new (string, object?)[] { ("now", ToMs(now)), ("pending", (int)AttemptOutcome.Pending) };
        var expired = await QueryAsync(connection, GateSql.SelectExpiredReservations, r => (r.GetString(0), r.GetString(1), r.GetString(2)), ct, tx, parameters);
        if (expired.Count > 0)
        {
            await ExecuteAsync(connection, tx, GateSql.ReleaseExpired, ct, parameters);
        }

        await tx.CommitAsync(ct);
        return expired;
    }

    /// <summary>Inserts the decision and returns its row's binding, hashed from the values written (no read back on the gate's path).</summary>
    private static async Task<RowRef> InsertDecisionAsync(DbConnection connection, DbTransaction tx, DecisionRecord d, CancellationToken ct)
    {
        (string Name, object? Value)[] values =
        [
            ("lender_id", d.LenderId), ("decision_id", d.DecisionId), ("account_id", d.AccountId), ("collector_id", d.CollectorId),
            ("channel", (int)d.Channel), ("purpose", (int)d.Purpose), ("destination_hash", d.DestinationHash), ("destination_masked", d.DestinationMasked),
            ("destination_class", (int)d.DestinationClass), ("allowed", d.Allowed), ("failed_closed", d.FailedClosed),
            ("rules", JsonSerializer.Serialize(d.Rules, JsonOptions)), ("profiles", JsonSerializer.Serialize(d.Profiles, JsonOptions)),
            ("next_allowed_at", ToMsOrNull(d.NextAllowedAt)), ("policy_version", d.PolicyVersion), ("evaluated_at", ToMs(d.EvaluatedAt)),
            ("reserved_until", ToMsOrNull(d.ReservedUntil)), ("key_id", d.KeyId),
            ("hours", d.Hours is null ? null : JsonSerializer.Serialize(d.Hours, JsonOptions)),
        ];
        await ExecuteAsync(connection, tx, GateSql.InsertDecision, ct, values);
        return BoundTable.Decisions.Bind(d.DecisionId, values);
    }

    protected static Task<int> InsertAttemptAsync(DbConnection connection, DbTransaction tx, string lenderId, string attemptId, string borrowerId,
        Attempt a, DateTimeOffset? reservedUntil, CancellationToken ct) =>
        ExecuteAsync(connection, tx, GateSql.InsertAttempt, ct,
            ("lender_id", lenderId), ("attempt_id", attemptId), ("borrower_id", borrowerId), ("account_id", a.AccountId), ("collector_id", a.CollectorId),
            ("channel", (int)a.Channel), ("destination_hash", a.DestinationHash), ("destination_class", (int)a.DestinationClass), ("party_id", a.PartyId),
            ("destination_use", (int)a.DestinationUse), ("purpose", (int)a.Purpose), ("outcome", (int)a.Outcome), ("at", ToMs(a.At)),
            ("reserved_until", ToMsOrNull(reservedUntil)));

    private static Attempt ReadAttempt(DbDataReader r) =>
        new(FromMs(r.GetInt64(0)), r.GetString(1), r.GetString(2), (Channel)r.GetInt32(3), r.GetString(4), (DestinationClass)r.GetInt32(5),
            r.GetString(6), (ContactPointUse)r.GetInt32(7), (ContactPurpose)r.GetInt32(8), (AttemptOutcome)r.GetInt32(9));

    private static DecisionRecord ReadDecision(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (Channel)r.GetInt32(4), (ContactPurpose)r.GetInt32(5),
            r.GetString(6), r.GetString(7), (DestinationClass)r.GetInt32(8), r.GetBoolean(9), r.GetBoolean(10),
            JsonSerializer.Deserialize<List<RuleHit>>(r.GetString(11), JsonOptions) ?? [],
            JsonSerializer.Deserialize<List<string>>(r.GetString(12), JsonOptions) ?? [],
            FromMsOrNull(r, 13), r.GetString(14), FromMs(r.GetInt64(15)),
            FromMsOrNull(r, 16), r.GetString(17),
            r.IsDBNull(18) ? null : JsonSerializer.Deserialize<HoursWindow>(r.GetString(18), JsonOptions));
}

/// <summary>Statements of the gate tables, shared by every provider.</summary>
internal static class GateSql
{
    public const string NextPolicyVersion = "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE lender_id = @lender_id";
    public const string InsertPolicy = """
        INSERT INTO policies (lender_id, version, effective_at, document, created_at, created_by)
        VALUES (@lender_id, @version, @effective_at, @document, @created_at, @created_by)
        """;
    private const string PolicyColumns = "lender_id, version, effective_at, document, created_at, created_by";
    public const string ListAllPolicies = $"SELECT {PolicyColumns} FROM policies ORDER BY lender_id, version";
    public const string ListPoliciesOfLender = $"SELECT {PolicyColumns} FROM policies WHERE lender_id = @lender_id ORDER BY version";

    private const string DecisionColumns = """
        lender_id, decision_id, account_id, collector_id, channel, purpose, destination_hash, destination_masked, destination_class,
        allowed, failed_closed, rules, profiles, next_allowed_at, policy_version, evaluated_at, reserved_until, key_id, hours
        """;
    public const string InsertDecision = $"""
        INSERT INTO decisions ({DecisionColumns})
        VALUES (@lender_id, @decision_id, @account_id, @collector_id, @channel, @purpose, @destination_hash, @destination_masked, @destination_class,
            @allowed, @failed_closed, @rules, @profiles, @next_allowed_at, @policy_version, @evaluated_at, @reserved_until, @key_id, @hours)
        """;
    public const string SelectDecision = $"SELECT {DecisionColumns} FROM decisions WHERE lender_id = @lender_id AND decision_id = @decision_id";
    public const string DecisionStored = "SELECT 1 FROM decisions WHERE lender_id = @lender_id AND decision_id = @decision_id";
    public const string DecisionsInPeriod = $"SELECT {DecisionColumns} FROM decisions WHERE lender_id = @lender_id AND evaluated_at >= @from AND evaluated_at < @to ORDER BY evaluated_at, decision_id";

    public const string InsertAttempt = """
        INSERT INTO attempts (lender_id, attempt_id, borrower_id, account_id, collector_id, channel, destination_hash, destination_class, party_id,
            destination_use, purpose, outcome, at, reserved_until, released_at)
        VALUES (@lender_id, @attempt_id, @borrower_id, @account_id, @collector_id, @channel, @destination_hash, @destination_class, @party_id,
            @destination_use, @purpose, @outcome, @at, @reserved_until, NULL)
        """;
    public const string ReleaseReservation = """
        UPDATE attempts SET released_at = @released_at
        WHERE lender_id = @lender_id AND attempt_id = @attempt_id AND outcome = @pending AND reserved_until IS NOT NULL AND released_at IS NULL
        """;
    private const string Expired = "reserved_until IS NOT NULL AND reserved_until < @now AND outcome = @pending AND released_at IS NULL";
    public const string SelectExpiredReservations = $"SELECT lender_id, attempt_id, borrower_id FROM attempts WHERE {Expired}";
    public const string ReleaseExpired = $"UPDATE attempts SET released_at = @now WHERE {Expired}";
    public const string BorrowerOfAttempt = "SELECT borrower_id FROM attempts WHERE lender_id = @lender_id AND attempt_id = @attempt_id";
}
