namespace Compliance.Server.Reports;

/// <summary>
/// A built report: everything its JSON, CSV and HTML renderings show. Serialized once when the report is issued; the
/// stored JSON is what the ledger entry's hash covers, and every rendering is made from it. Sections a kind does not
/// carry are null.
/// </summary>
public sealed record ReportDocument(
    string ReportId,
    string Kind,
    string LenderId,
    string TimeZone,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    string FirstDay,
    string LastDay,
    string Label,
    DateTimeOffset BuiltAt,
    long BuiltUpToLedgerEntry,
    long BuiltUpToEventPosition,
    bool Empty,
    string EmptyNote,
    IReadOnlyList<string> PolicyVersions,
    ReportTotals Totals,
    IReadOnlyList<RuleRow> Rules,
    IReadOnlyList<SeriesRow> Series,
    IReadOnlyList<ConductRow>? Collectors,
    IReadOnlyList<ConductRow>? Agencies,
    IReadOnlyList<IncidentRow>? Incidents,
    IReadOnlyList<ComplaintRow>? Complaints,
    IReadOnlyList<ExceptionRow>? FrequencyExceptions,
    long FrequencyExceptionsTotal,
    IReadOnlyList<ContactRow>? ContactLog,
    SafeHarborStatement? SafeHarbor);

/// <summary>The headline figures of a period.</summary>
public sealed record ReportTotals(
    long Decisions,
    long Denied,
    long FailedClosed,
    long Events,
    long ImportedEvents,
    long Contacts,
    long Conversations,
    long EventsWithViolations,
    long Violations,
    long ShadowViolations,
    long ThirdPartyContacts,
    long Incidents,
    long Complaints);

/// <summary>One rule over the period: how often it denied at the gate, and was broken (or would have been, in shadow) by events.</summary>
public sealed record RuleRow(string RuleId, string Citation, long Denied, long Violations, long Shadow);

/// <summary>One bucket of the period's chart: an hour of the day (daily reports) or a day.</summary>
public sealed record SeriesRow(string Bucket, long Decisions, long Denied, long Events, long EventsWithViolations);

/// <summary>The conduct of one collector or agency over the period.</summary>
public sealed record ConductRow(
    string Id,
    string AgencyId,
    long Events,
    long Contacts,
    long Conversations,
    long ThirdPartyContacts,
    long EventsWithViolations,
    long Violations,
    long Denied,
    double TotalRisk,
    double MeanRisk);

public sealed record IncidentRow(string IncidentId, DateTimeOffset OccurredAt, string RuleId, string Citation, string Severity, string AccountId, string CollectorId,
    string Summary, bool Acknowledged);

public sealed record ComplaintRow(string ComplaintId, DateTimeOffset ReceivedAt, string Source, string Reference, string AccountId, string Status, DateTimeOffset? DueAt);

/// <summary>An event that broke a frequency rule (a rolling cap, a daily cap, the wait after a conversation).</summary>
public sealed record ExceptionRow(string EventId, DateTimeOffset OccurredAt, string AccountId, string CollectorId, string Channel, string RuleId, string Citation,
    bool Shadow, string Message);

/// <summary>One contact of the contact log: what was done, to whom (masked), how it went, and what it broke.</summary>
public sealed record ContactRow(string EventId, DateTimeOffset OccurredAt, string Kind, string AccountId, string CollectorId, string Channel, string Destination,
    string DestinationClass, string Outcome, long DurationSeconds, bool Imported, double RiskScore, string RulesBroken);

/// <summary>
/// One account's statement under 12 CFR 1006.14(b)(2): for each frequency rule of each profile that applied, the
/// calls it counts and the conversations, per window of the rule's length in the consumer's zone.
/// </summary>
public sealed record SafeHarborStatement(string AccountId, string ConsumerTimeZone, IReadOnlyList<string> ProfilesApplied, IReadOnlyList<SafeHarborRule> Rules);

public sealed record SafeHarborRule(string Profile, string RuleId, string Kind, string Citation, bool Shadow, int? MaxAttempts, int WindowDays, string Channels,
    IReadOnlyList<SafeHarborWindow> Windows);

public sealed record SafeHarborWindow(string FirstDay, string LastDay, long Calls, long Conversations, long Violations, bool OverLimit);
