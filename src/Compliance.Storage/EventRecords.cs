using Compliance.Domain.Events;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>An ingested event as recorded, with its verdict. Bodies are kept only where the policy says so.</summary>
public sealed record StoredEvent(
    string LenderId,
    string EventId,
    EventKind Kind,
    string AccountId,
    string BorrowerId,
    string CollectorId,
    string DecisionId,
    string CallId,
    Channel Channel,
    ContactPurpose Purpose,
    string DestinationHash,
    string DestinationMasked,
    DestinationClass DestinationClass,
    string PartyId,
    AttemptOutcome Outcome,
    long DurationMs,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    bool Imported,
    double RiskScore,
    IReadOnlyList<Violation> Violations,
    string? Body,
    ContactPointUse DestinationUse = ContactPointUse.Unspecified,
    EventCounting Counts = EventCounting.None,
    long Seq = 0);

/// <summary>What an event adds to its borrower's attempt history.</summary>
public enum EventCounting
{
    /// <summary>Nothing: not a contact, or a contact counted by the gate reservation it confirmed.</summary>
    None = 0,

    /// <summary>The event is a contact attempt of its own.</summary>
    Attempt = 1,

    /// <summary>The event reports how an earlier call went (connected, ended, voicemail): its outcome becomes the call's.</summary>
    CallOutcome = 2,
}

/// <summary>What a ledger entry of kind EventBatch records: the lender's events from FirstSeq to LastSeq and their Merkle root.</summary>
public sealed record EventBatchPayload(long FirstSeq, long LastSeq, int Events, string Root);

/// <summary>An event with what shows that the ledger holds it: its leaf hash, the path to its batch's root, and the batch entry.</summary>
public sealed record EventProof(StoredEvent Event, byte[] Leaf, IReadOnlyList<Compliance.Domain.Ledger.MerkleTree.Step> Path, Compliance.Domain.Ledger.LedgerEntry Batch);

/// <summary>A pattern or event that needs a person's attention.</summary>
public sealed record Incident(
    string LenderId,
    string IncidentId,
    string RuleId,
    string Citation,
    Severity Severity,
    string AccountId,
    string CollectorId,
    string Summary,
    IReadOnlyList<string> EventIds,
    DateTimeOffset OccurredAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AcknowledgedAt,
    string AcknowledgedBy,
    string Note)
{
    /// <summary>
    /// The incident's place among the lender's incidents (schema 0017): one more than the one stored before it, given
    /// in the transaction that stores it, so incidents are numbered in the order they were committed, on any replica.
    /// 0 for one not stored yet.
    /// </summary>
    public long Sequence { get; init; }

    /// <summary>Whether this is an incident of the rule about the account that occurred strictly between the two instants.</summary>
    public bool Is(string lenderId, string accountId, string ruleId, DateTimeOffset after, DateTimeOffset before) =>
        LenderId == lenderId && AccountId == accountId && RuleId == ruleId && OccurredAt > after && OccurredAt < before;
}

/// <summary>What a conduct score is about: the column events are grouped by.</summary>
public enum ScoreGroup
{
    Collector = 1,
    Agency = 2,
    Account = 3,
}

/// <summary>The events of one collector, agency or account in a window: how many, how risky.</summary>
public sealed record ConductTotals(string Id, long Events, long EventsWithViolations, double TotalRisk);

/// <summary>An event with a risk above zero, for explaining a score.</summary>
public sealed record RiskyEvent(string EventId, DateTimeOffset OccurredAt, double RiskScore, IReadOnlyList<Violation> Violations, string AccountId, string CollectorId);

/// <summary>An attempt with the ids that tie it to a reservation or a dialer's call.</summary>
public readonly record struct AttemptRow(string AttemptId, string CallId, Attempt Attempt) : Compliance.Domain.Events.IAttemptRow;

/// <summary>One group commit of ingested events: everything runs in one write transaction.</summary>
public interface IIngestSession
{
    /// <summary>Events already recorded under these ids (for idempotent resends).</summary>
    Task<IReadOnlyDictionary<string, StoredEvent>> ExistingEventsAsync(string lenderId, IReadOnlyCollection<string> eventIds);
    /// <summary>The attempts since a time of each of these borrowers (locking each borrower where the provider needs it).</summary>
    Task<Dictionary<string, List<AttemptRow>>> HistoriesAsync(string lenderId, IReadOnlyCollection<string> borrowerIds, DateTimeOffset since);
    Task<AttemptRow?> AttemptOfCallAsync(string lenderId, string callId);
    Task<DecisionRecord?> DecisionAsync(string lenderId, string decisionId);
    Task AddEventAsync(StoredEvent e);
    /// <summary>Appends events in order (their seqs follow one another); the same as adding each, only faster.</summary>
    Task AddEventsAsync(IReadOnlyList<StoredEvent> events);
    /// <summary>Appends events sealed for the log's next position; throws when the log has moved on since they were sealed.</summary>
    Task AddEventsAsync(SealedEvents sealedEvents);
    /// <summary>The position the next appended event takes (in a read session: after the last committed event).</summary>
    Task<long> NextSeqAsync();
    Task AddAttemptAsync(string lenderId, string attemptId, string borrowerId, string callId, Attempt attempt);
    /// <summary>Turns a gate reservation into a real attempt at the event's time; false when no pending reservation exists.</summary>
    /// <summary>Whether the gate's reservation is still held (not yet confirmed by an event, released or expired).</summary>
    Task<bool> ReservationPendingAsync(string lenderId, string decisionId);
    Task<bool> ConfirmReservationAsync(string lenderId, string decisionId, string callId, DateTimeOffset at);
    Task SetOutcomeAsync(string lenderId, string attemptId, AttemptOutcome outcome);
    /// <summary>Whether the account has an incident of the rule that occurred strictly between the two instants.</summary>
    Task<bool> IncidentExistsAsync(string lenderId, string accountId, string ruleId, DateTimeOffset after, DateTimeOffset before);
    Task AddIncidentAsync(Incident incident);
    Task AddFlagAsync(string lenderId, string accountId, Flag flag, DateTimeOffset now);
}

/// <summary>Events, incidents and the ingest group commit.</summary>
public interface IEventStore
{
    /// <summary>Runs <paramref name="work"/> in one write transaction and commits it; nothing is kept when it throws.</summary>
    Task RunIngestAsync(Func<IIngestSession, Task> work, CancellationToken ct);

    /// <summary>A session that reads what is committed (no transaction of its own); its writes throw.</summary>
    Task RunIngestReadAsync(Func<IIngestSession, Task> work, CancellationToken ct);

    /// <summary>Totals per collector, agency or account over [from, to), optionally of one id; riskiest first.</summary>
    Task<IReadOnlyList<ConductTotals>> ConductTotalsAsync(string lenderId, ScoreGroup group, string? id, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct);

    /// <summary>The events with a risk above zero of one collector, agency or account over [from, to), riskiest first.</summary>
    Task<IReadOnlyList<RiskyEvent>> RiskyEventsAsync(string lenderId, ScoreGroup group, string id, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct);

    Task<Page<Incident>> ListIncidentsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, Severity minSeverity, int limit, string? after, CancellationToken ct);
    /// <summary>The account's events in a period, by time (found through its borrower's key table).</summary>
    Task<IReadOnlyList<StoredEvent>> EventsOfAccountAsync(string lenderId, string accountId, string borrowerId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>
    /// The proofs of the events at these positions (those a batch covers), by position: each event with its leaf hash,
    /// its path to the batch root and the batch's ledger entry; each batch is read once.
    /// </summary>
    Task<IReadOnlyList<EventProof>> EventProofsAsync(string lenderId, IReadOnlyList<long> seqs, CancellationToken ct);

    /// <summary>Recomputes an event batch from the log: how many of the lender's events lie in the range and their Merkle root.</summary>
    Task<(int Events, byte[] Root)> EventBatchRootAsync(string lenderId, long firstSeq, long lastSeq, CancellationToken ct);

    Task<Incident?> AcknowledgeIncidentAsync(string lenderId, string incidentId, string by, string note, DateTimeOffset at, CancellationToken ct);

    /// <summary>
    /// The lender's incidents with a sequence above <paramref name="afterSequence"/> and at least the severity, by
    /// sequence, at most <paramref name="limit"/>: what a watcher that saw up to that sequence has not seen yet.
    /// </summary>
    Task<IReadOnlyList<Incident>> IncidentsAfterAsync(string lenderId, long afterSequence, Severity minSeverity, int limit, CancellationToken ct);

    /// <summary>The sequence of the lender's newest incident (0 when it has none): where a watch from now on starts.</summary>
    Task<long> LastIncidentSequenceAsync(string lenderId, CancellationToken ct);
}
