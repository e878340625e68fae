using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>A stored version of a lender's policy document.</summary>
public sealed record StoredPolicy(string LenderId, int Version, DateTimeOffset EffectiveAt, string Document, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>A gate decision as recorded: the request, the answer, every rule that fired and the policy version.</summary>
public sealed record DecisionRecord(
    string LenderId,
    string DecisionId,
    string AccountId,
    string CollectorId,
    Channel Channel,
    ContactPurpose Purpose,
    string DestinationHash,
    string DestinationMasked,
    DestinationClass DestinationClass,
    bool Allowed,
    bool FailedClosed,
    IReadOnlyList<RuleHit> Rules,
    IReadOnlyList<string> Profiles,
    DateTimeOffset? NextAllowedAt,
    string PolicyVersion,
    DateTimeOffset EvaluatedAt,
    DateTimeOffset? ReservedUntil,
    string KeyId,
    HoursWindow? Hours = null);

/// <summary>What a decision under the borrower's lock produced: the record, and the attempt to reserve when allowed.</summary>
public sealed record GateOutcome(DecisionRecord Decision, Attempt? Reservation);

/// <summary>Policies of every lender.</summary>
public interface IPolicyStore
{
    /// <summary>Stores a new version (the next number for the lender).</summary>
    Task<StoredPolicy> AddPolicyAsync(string lenderId, string document, DateTimeOffset effectiveAt, DateTimeOffset createdAt, string createdBy, CancellationToken ct);

    /// <summary>Every version of every lender (lenderId null) or of one lender, oldest first.</summary>
    Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(string? lenderId, CancellationToken ct);
}

/// <summary>
/// The stamps a decision reads under the borrower's lock: the borrower's registry stamp and the collector's. Both only
/// grow, so data read at equal stamps is the data in force.
/// </summary>
public readonly record struct RegistryStamps(long Borrower, long Collector);

/// <summary>Decisions, reservations and the attempt history the conduct windows count.</summary>
public interface IGateStore
{
    /// <summary>
    /// Under an exclusive lock on the borrower (across replicas), reads the borrower's attempts since
    /// <paramref name="since"/>, lets <paramref name="decide"/> evaluate them, and records its decision and
    /// reservation in one transaction. Two concurrent calls for one borrower therefore never both see the last free slot.
    /// </summary>
    Task<DecisionRecord> DecideAsync(string lenderId, string borrowerId, DateTimeOffset since, Func<IReadOnlyList<Attempt>, GateOutcome> decide, CancellationToken ct);

    /// <summary>
    /// As <see cref="DecideAsync"/>, and also reads, under the same lock, the borrower's registry stamp (schema 0015),
    /// which every change of the borrower's accounts or flags moves on, and the collector's stamp (schema 0017), which
    /// every change of the collector moves on, through any replica. <paramref name="decide"/> returns null when the
    /// registry data it would judge by was read before those stamps: then nothing is recorded and null comes back, for
    /// the caller to read the data again.
    /// </summary>
    Task<DecisionRecord?> DecideOnStampAsync(string lenderId, string borrowerId, string collectorId, DateTimeOffset since,
        Func<IReadOnlyList<Attempt>, RegistryStamps, GateOutcome?> decide, CancellationToken ct);

    /// <summary>The borrower's attempts since a time (released reservations excluded), oldest first.</summary>
    Task<IReadOnlyList<Attempt>> HistoryAsync(string lenderId, string borrowerId, DateTimeOffset since, CancellationToken ct);

    Task<DecisionRecord?> GetDecisionAsync(string lenderId, string decisionId, CancellationToken ct);

    /// <summary>The lender's recorded decisions in [from, to), oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<DecisionRecord>> DecisionsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct);

    /// <summary>Releases a pending reservation; returns its borrower, or null when there is none (unknown, consumed or already released).</summary>
    Task<string?> ReleaseReservationAsync(string lenderId, string decisionId, DateTimeOffset at, CancellationToken ct);

    /// <summary>Releases every pending reservation whose time ran out; returns what was released.</summary>
    Task<IReadOnlyList<(string LenderId, string DecisionId, string BorrowerId)>> ReleaseExpiredAsync(DateTimeOffset now, CancellationToken ct);
}
