using Compliance.Domain.Policies;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Rules;

/// <summary>Who a destination belongs to, as far as the third-party rules are concerned.</summary>
public enum DestinationClass
{
    Unspecified = 0,
    Own = 1,
    RelatedParty = 2,
    UnrelatedParty = 3,
    Unknown = 4,
}

/// <summary>Why a collector wants to make a contact.</summary>
public enum ContactPurpose
{
    Unspecified = 0,
    CollectDebt = 1,
    LocateBorrower = 2,
    PassMessage = 3,
    RespondToConsumer = 4,
    CeaseConfirmation = 5,
}

/// <summary>How serious a rule hit is.</summary>
public enum Severity
{
    Unspecified = 0,
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}

/// <summary>
/// Outcome of a recorded contact. Pending = reserved by the gate or placed with no outcome yet (counts as an attempt).
/// </summary>
public enum AttemptOutcome
{
    Pending = 0,
    Conversation = 1,
    AnsweredNoConversation = 2,
    NoAnswer = 3,
    Voicemail = 4,
    Rejected = 5,
    NotConnected = 6,
    Delivered = 7,
    Visited = 8,
    /// <summary>The consumer called in and spoke with a collector: a conversation, but not a placed call (commentary 14(b)(2)(i)-1.ii).</summary>
    InboundConversation = 9,
    /// <summary>The consumer called in, but no conversation about the debt took place.</summary>
    Inbound = 10,
}

/// <summary>Facts about outcomes the rules share.</summary>
public static class AttemptOutcomes
{
    /// <summary>A conversation with the person, whoever placed the call.</summary>
    public static bool IsConversation(this AttemptOutcome outcome) => outcome is AttemptOutcome.Conversation or AttemptOutcome.InboundConversation;

    /// <summary>A call the consumer placed (call-in): not an attempt by the collector.</summary>
    public static bool IsInbound(this AttemptOutcome outcome) => outcome is AttemptOutcome.InboundConversation or AttemptOutcome.Inbound;
}

/// <summary>One contact that happened or is reserved, as the windows count it.</summary>
public readonly record struct Attempt(
    DateTimeOffset At,
    string AccountId,
    string CollectorId,
    Channel Channel,
    string DestinationHash,
    DestinationClass DestinationClass,
    string PartyId,
    ContactPointUse DestinationUse,
    ContactPurpose Purpose,
    AttemptOutcome Outcome);

/// <summary>The destination as the server resolved it (by matching the keyed hash against the account's contact points).</summary>
public sealed record ResolvedDestination(
    DestinationClass Class,
    string DestinationHash,
    ContactPoint? ContactPoint,
    Party? Party,
    IReadOnlyList<string> TimeZones);

/// <summary>
/// A contact the gate is asked about. <see cref="BorrowerAccounts"/> are the borrower's accounts at the lender (this one
/// included or not), loaded where a rule counts across them: for a contact with an unrelated party.
/// </summary>
public sealed record ContactCandidate(
    Account Account,
    string CollectorId,
    CollectorKind CollectorKind,
    Channel Channel,
    ContactPurpose Purpose,
    ResolvedDestination Destination,
    DateTimeOffset At,
    bool CollectorActive = true,
    IReadOnlyList<Account>? BorrowerAccounts = null)
{
    /// <summary>
    /// The contact a collector asks about (the gate) or reports (the monitor) at an instant: both judge the same candidate
    /// with <see cref="Policies.CompiledPolicy.Evaluate"/>.
    /// </summary>
    public static ContactCandidate For(Account account, Collector collector, Channel channel, ContactPurpose purpose, ResolvedDestination destination,
        DateTimeOffset at, IReadOnlyList<Account>? borrowerAccounts) =>
        new(account, collector.CollectorId, collector.Kind, channel, purpose, destination, at, collector.ActiveAt(at), borrowerAccounts);
}

/// <summary>One rule that fired, with the citation a deny or report quotes.</summary>
public sealed record RuleHit(
    string RuleId,
    string Profile,
    string Citation,
    string Message,
    bool Shadow,
    Severity Severity,
    DateTimeOffset? NextAllowedAt,
    HoursWindow? Hours = null);

/// <summary>The gate's answer: allowed when no non-shadow rule fired.</summary>
public sealed record GateResult(
    bool Allowed,
    IReadOnlyList<RuleHit> Hits,
    DateTimeOffset? NextAllowedAt,
    IReadOnlyList<string> Profiles,
    DestinationClass DestinationClass,
    string PolicyVersion,
    HoursWindow? Hours = null);

/// <summary>
/// The calling window a decision used (12 CFR 1006.6(b)(1)(i), comment 6(b)(1)(i)-2): every zone the person may be in
/// with the indicator that gave it; the local window that must hold in each (the strictest of the hours rules that
/// applied: <see cref="RuleIds"/>), in minutes after local midnight; and the instants it holds in all zones at once on
/// the evaluated day, read in the first zone (an Eastern mobile and a Pacific address: 11:00-21:00 Eastern). The
/// effective window is null when no time that day is allowed in every zone.
/// </summary>
public sealed record HoursWindow(
    IReadOnlyList<ZoneIndicator> Zones,
    int StartMinute,
    int EndMinute,
    string EffectiveZone,
    DateTimeOffset? EffectiveStart,
    DateTimeOffset? EffectiveEnd,
    IReadOnlyList<string> RuleIds)
{
    /// <summary>The effective window as local wall-clock time in <see cref="EffectiveZone"/>, "11:00-21:00"; empty when none.</summary>
    public string EffectiveLocal
    {
        get
        {
            if (EffectiveStart is not { } start || EffectiveEnd is not { } end
                || !TimeZoneInfo.TryFindSystemTimeZoneById(EffectiveZone, out var zone))
            {
                return "";
            }

            var from = LocalZones.ToLocal(zone, start);
            var to = LocalZones.ToLocal(zone, end);
            var toText = to.Date > from.Date && to.TimeOfDay == TimeSpan.Zero ? "24:00" : $"{to:HH:mm}";
            return $"{from:HH:mm}-{toText}";
        }
    }
}
