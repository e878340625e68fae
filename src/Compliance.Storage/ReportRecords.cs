using Compliance.Domain.Events;
using Compliance.Domain.Registry;
using Compliance.Domain.Reports;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>What makes a report unique: one per lender, kind, period and subject (an account, or empty).</summary>
public sealed record ReportKey(string LenderId, string ReportId, ReportKind Kind, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string Subject, string TimeZone);

/// <summary>
/// A report as stored. <see cref="Content"/> (JSON) and <see cref="Summary"/> (JSON of the headline figures) are null
/// while it is being built; once issued the row never changes.
/// </summary>
public sealed record StoredReport(
    ReportKey Key,
    string RequestedBy,
    DateTimeOffset? IssuedAt,
    long LedgerPosition,
    long LedgerEntry,
    string ContentSha256,
    string? Summary,
    string? Content)
{
    public bool Issued => IssuedAt is not null;
}

/// <summary>The outcome of claiming a report: build it, it exists already, or another builder holds a live claim.</summary>
public enum ReportClaimOutcome
{
    Claimed = 1,
    Issued = 2,
    Busy = 3,
}

/// <summary>A claim's outcome and the report row as it stands.</summary>
public sealed record ReportClaim(ReportClaimOutcome Outcome, StoredReport Report);

/// <summary>How far a report reads: the lender's ledger head and the last event position that head covers.</summary>
public sealed record ReportCut(long LedgerSeq, long EventSeq);

/// <summary>The columns of an event a report counts (no body, no hashes).</summary>
public sealed record ReportEvent(
    long Seq,
    string EventId,
    EventKind Kind,
    string AccountId,
    string CollectorId,
    Channel Channel,
    string DestinationMasked,
    DestinationClass DestinationClass,
    AttemptOutcome Outcome,
    long DurationMs,
    DateTimeOffset OccurredAt,
    bool Imported,
    double RiskScore,
    string ViolationsJson,
    EventCounting Counts)
{
    /// <summary>Whether the event broke any rule (the column holds an empty JSON list otherwise).</summary>
    public bool HasViolations => ViolationsJson.Length > 2;
}

/// <summary>What a report counts of one collector's events in a span of time, summed by the store.</summary>
public sealed record ReportEventTally(string CollectorId, long Events, long Imported, long Contacts, long ThirdParty, long Conversations, double Risk);

/// <summary>
/// How many of one collector's events in a span of time broke the same rules: events storing the same list of violations
/// (the JSON, byte for byte) are counted together by the store, so a report reads each list once, not once per event.
/// </summary>
public sealed record ReportViolationTally(string CollectorId, string ViolationsJson, long Events);

/// <summary>A report's row while it is built or once issued: how many of the period's events the build has counted so far.</summary>
public sealed record ReportBuildProgress(string ReportId, bool Issued, DateTimeOffset ClaimedAt, long Counted, long Total);

/// <summary>A lender and the zone its report periods are counted in.</summary>
public sealed record ReportingLender(string LenderId, string TimeZone, DateTimeOffset CreatedAt);

/// <summary>Issued reports and the reads that build them. Every read is scoped to one lender and streamed.</summary>
public interface IReportStore
{
    Task<IReadOnlyList<ReportingLender>> ReportingLendersAsync(CancellationToken ct);
    Task<string?> ReportingTimeZoneAsync(string lenderId, CancellationToken ct);
    Task SetReportingTimeZoneAsync(string lenderId, string timeZone, CancellationToken ct);

    /// <summary>
    /// Claims the report's row for <paramref name="claimer"/>: inserts it (the unique key on lender, kind, period and
    /// subject admits one), or takes over a claim older than <paramref name="lease"/> whose builder never issued it.
    /// </summary>
    Task<ReportClaim> ClaimReportAsync(ReportKey key, string claimer, string requestedBy, DateTimeOffset now, TimeSpan lease, CancellationToken ct);

    /// <summary>
    /// Issues a claimed report: writes its content and appends its ledger entry in one transaction. Returns the report
    /// as stored, or null when the claim was lost (another builder took it over and may have issued it).
    /// </summary>
    Task<StoredReport?> IssueReportAsync(ReportKey key, string claimer, DateTimeOffset at, long ledgerPosition, string summary, string content,
        string contentSha256, object ledgerPayload, CancellationToken ct);

    /// <summary>Gives up a claim (the build failed), so the next run may try at once.</summary>
    Task ReleaseReportClaimAsync(ReportKey key, string claimer, CancellationToken ct);

    Task<StoredReport?> GetReportAsync(string lenderId, string reportId, bool withContent, CancellationToken ct);

    /// <summary>Issued reports, newest id first (ids sort by kind and period), optionally of one kind.</summary>
    Task<Page<StoredReport>> ListReportsAsync(string lenderId, ReportKind kind, int limit, string? after, CancellationToken ct);

    /// <summary>The lender's ledger head and the last event position it covers (gate decisions waiting in a journal are settled first).</summary>
    Task<ReportCut> ReportCutAsync(string lenderId, CancellationToken ct);

    /// <summary>The lender's events that occurred in [from, to) at positions up to <paramref name="lastSeq"/>, streamed.</summary>
    IAsyncEnumerable<ReportEvent> ReportEventsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, string? accountId, CancellationToken ct);

    /// <summary>How many of the lender's events occurred in [from, to) at positions up to <paramref name="lastSeq"/>.</summary>
    Task<long> ReportEventCountAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct);

    /// <summary>The figures of those events summed per collector by the store (one row per collector, not per event).</summary>
    Task<IReadOnlyList<ReportEventTally>> ReportEventTalliesAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct);

    /// <summary>
    /// Those of the events that broke a rule counted per collector and list of violations, the groups in the order of
    /// their first event (by time, then position).
    /// </summary>
    Task<IReadOnlyList<ReportViolationTally>> ReportViolationTalliesAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct);

    /// <summary>Those of the events that broke a rule, by time, streamed.</summary>
    IAsyncEnumerable<ReportEvent> ReportEventsWithViolationsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct);

    /// <summary>Records how far the build of a claimed report has come (events counted of the total), for whoever asks meanwhile.</summary>
    Task ReportProgressAsync(ReportKey key, string claimer, long counted, long total, CancellationToken ct);

    /// <summary>The report row of the key's period (being built or issued), or null when nobody has claimed it.</summary>
    Task<ReportBuildProgress?> ReportBuildProgressAsync(ReportKey key, CancellationToken ct);

    /// <summary>The lender's gate decisions evaluated in [from, to), streamed.</summary>
    IAsyncEnumerable<DecisionRecord> ReportDecisionsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>Incidents that occurred in [from, to), by time, streamed.</summary>
    IAsyncEnumerable<Incident> ReportIncidentsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>Complaints received in [from, to), by time, streamed.</summary>
    IAsyncEnumerable<Complaint> ReportComplaintsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>The SHA-256 (hex) of an issued report's stored content, recomputed (for the ledger verifier); null when no issued report has that id.</summary>
    Task<string?> ReportContentSha256Async(string lenderId, string reportId, CancellationToken ct);
}

/// <summary>What a ledger entry of kind Report records.</summary>
public sealed record ReportLedgerPayload(string ReportId, string Kind, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string TimeZone, string Subject,
    long BuiltUpTo, string ContentSha256);
