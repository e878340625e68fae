using Compliance.Domain.Content;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Events;

/// <summary>What the consumer asked for, as an event reports it (the contract's <c>ConsumerRequestType</c>).</summary>
public enum ConsumerRequestType
{
    Unspecified = 0,
    StopContact = 1,
    OptOutMedium = 2,
    AttorneyRepresented = 3,
    Dispute = 4,
    InconvenientTime = 5,
    ConsentToCalls = 6,
    WrongNumber = 7,
}

/// <summary>How a reported contact stands with the gate: the decision it quotes, as the gate recorded it.</summary>
public enum GateStanding
{
    /// <summary>The event quotes no decision.</summary>
    NotAsked = 0,
    Allowed = 1,
    Denied = 2,
    /// <summary>The event quotes a decision the gate did not record for this account.</summary>
    UnknownDecision = 3,
}

/// <summary>A reported contact judged: the gate's rules as of its time, and every violation in the order they are reported.</summary>
public sealed record ContactVerdict(GateResult Gate, IReadOnlyList<Violation> Violations);

/// <summary>A message judged by its wording: its violations, and the excerpt that disclosed the debt to an unknown number, if any.</summary>
public sealed record ContentVerdict(IReadOnlyList<Violation> Violations, string? Disclosure);

/// <summary>An address-book blast found: the rule, the window's end, the contacts counted and what the incident says.</summary>
public sealed record BlastFinding<T>(BlastLimit Limit, DateTimeOffset End, IReadOnlyList<T> Counted, string Summary);

/// <summary>
/// The monitor's engine: judges one reported event against the same compiled policy the gate decides with
/// (<see cref="CompiledPolicy.Evaluate"/>), given the attempts before it in its rules' windows and the borrower's
/// account. Pure: the caller loads the event, its window and its account, and stores what comes back.
/// </summary>
public static class EventJudge
{
    public const string UnauthorizedRule = "INGEST.contact-without-authorization";
    public const string DespiteDenyRule = "INGEST.contact-despite-deny";
    public const string UnknownDecisionRule = "INGEST.unknown-decision";
    public const string DisclosureRule = "INGEST.debt-disclosure-unknown-number";
    public const string IngestProfile = "INGEST";
    public const string GateCitation = "Lender policy: every contact passes the contact gate (ContactGateService.Authorize) first";
    public const string ThirdPartyCitation = "12 CFR 1006.6(d); GB/T 45251-2025; CBA collection guideline 2026 (third parties)";

    /// <summary>Attempts made by events get ids of their own kind, so an event id can never collide with a decision id.</summary>
    public const string EventAttemptPrefix = "evt:";

    /// <summary>How far around an event an earlier missing-notice incident of the same debt is looked for: longer than any debt is collected without one.</summary>
    public static readonly TimeSpan OncePerDebtSpan = TimeSpan.FromDays(3660);

    /// <summary>
    /// Judges what an event reports and how it changes the borrower's state, from the event, the facts the caller looked
    /// up (<paramref name="facts"/>), the account as it stands (with flags set by events before this one), the collector,
    /// the policy in force at the event's time and the borrower's window:
    /// <list type="bullet">
    /// <item>a contact (a call placed, a message, a visit, a voicemail of a call not known) is judged as if it had asked the
    /// gate at its own time against the window before it, without the reservation it confirms (<see cref="JudgeContact"/>),
    /// and becomes an attempt, recorded with the destination class the rules saw;</item>
    /// <item>a call's later event gives the call its outcome;</item>
    /// <item>a call-in is the consumer's, not an attempt by the collector: a number registered nowhere on the account is the consumer;</item>
    /// <item>a refusal, a consumer's request and a validation notice set a flag.</item>
    /// </list>
    /// The caller applies the change to the window and the flag to the account, then asks <see cref="Conclude{TRow}"/>.
    /// </summary>
    public static EventVerdict Judge<TRow>(in ReportedEvent e, in EventFacts facts, Account account, Collector? collector, CompiledPolicy policy,
        AttemptWindow<TRow> window, AttemptWindow<TRow>.View view, IReadOnlyList<Account>? borrowerAccounts)
        where TRow : IAttemptRow
    {
        var verdict = new EventVerdict();
        if (IsContact(e.Kind, facts.Call is not null))
        {
            JudgeContactEvent(verdict, e, facts, account, collector ?? throw new ArgumentException("a contact names its collector", nameof(collector)), policy,
                window.Before(e.At, e.DecisionId.Length > 0 ? e.DecisionId : null, view), borrowerAccounts);
            return verdict;
        }

        switch (e.Kind)
        {
            case EventKind.CallConnected or EventKind.CallEnded or EventKind.VoicemailLeft:
                var call = facts.Call ?? throw new ArgumentException("a call's later event is judged with the call's attempt", nameof(facts));
                var outcome = e.Kind switch
                {
                    EventKind.CallConnected => e.Conversation ? AttemptOutcome.Conversation : AttemptOutcome.AnsweredNoConversation,
                    EventKind.CallEnded => e.Ended ?? call.Outcome,
                    _ => AttemptOutcome.Voicemail,
                };
                verdict.Outcome = outcome;
                verdict.Change = AttemptChange.UpdateCall;
                verdict.AttemptId = facts.CallAttemptId;
                verdict.Attempt = call with { Outcome = outcome };
                verdict.Destination = new ResolvedDestination(call.DestinationClass, call.DestinationHash, null, null, []);
                verdict.DestinationUse = call.DestinationUse;
                break;

            case EventKind.Refusal:
                verdict.Flag = NewFlag(e, FlagType.ThirdPartyRefused, Channel.Unspecified, partyId: e.PartyId);
                break;

            case EventKind.ConsumerRequest when e.Request == ConsumerRequestType.ConsentToCalls:
                verdict.Flag = NewFlag(e, FlagType.ConsentToContact, e.RequestChannel, windowFrom: e.WindowFrom, expires: e.WindowTo);
                break;

            case EventKind.ConsumerRequest when e.Request == ConsumerRequestType.WrongNumber:
                var point = facts.Destination?.ContactPoint ?? throw new ArgumentException("a wrong number names a contact point of the account", nameof(facts));
                // Unsaid, a wrong number is reported by whoever answered: a third party.
                var source = (WrongNumberSource)e.Source == WrongNumberSource.Unspecified ? WrongNumberSource.ThirdParty : (WrongNumberSource)e.Source;
                verdict.Flag = NewFlag(e, FlagType.WrongNumber, Channel.Unspecified, source: (int)source, contactPointId: point.ContactPointId);
                break;

            case EventKind.ConsumerRequest:
                if (FlagOf(e.Request) is { } flagType)
                {
                    verdict.Flag = NewFlag(e, flagType, e.RequestChannel);
                }

                break;

            case EventKind.InboundCall:
                // The consumer called: a conversation for the wait and the records, not a placed call, and not judged as a
                // contact the collector made. Who called in: the number as registered; none, or one registered nowhere on
                // the account, the consumer (the lender records a call-in by the consumer).
                verdict.Outcome = e.Conversation ? AttemptOutcome.InboundConversation : AttemptOutcome.Inbound;
                var from = facts.Destination is not { } d ? new ResolvedDestination(DestinationClass.Own, "", null, null, [])
                    : d.Class == DestinationClass.Unknown ? d with { Class = DestinationClass.Own }
                    : d;
                verdict.Destination = from;
                verdict.DestinationUse = facts.Use;
                verdict.Change = AttemptChange.Add;
                verdict.Attempt = new Attempt(e.At, account.AccountId, collector?.CollectorId ?? "", Channel.VoiceCall, from.DestinationHash, from.Class,
                    from.Party?.PartyId ?? "", facts.Use, e.Purpose, verdict.Outcome);
                break;

            case EventKind.ValidationNoticeSent:
                verdict.Flag = NewFlag(e, FlagType.ValidationNoticeSent, e.Channel, source: e.Source);
                break;
        }

        return verdict;
    }

    /// <summary>
    /// Finishes a verdict once its attempt and flag are applied (<paramref name="account"/> and <paramref name="window"/>
    /// as the event left them): the validation notice's timing, where the policy has a rule for it (12 CFR 1006.34(a)(1):
    /// the notice's own event is a violation when it came late; any other event about the debt is one when the notice is
    /// still missing after its deadline, once per debt); the wording of a message or transcript and of an e-mail's
    /// subject, with a disclosure of the debt to an unknown number as an incident; and the risk score. Imported events
    /// are judged by the rules that count, not alerted on.
    /// </summary>
    public static void Conclude<TRow>(EventVerdict verdict, ContentAnalyzer content, in ReportedEvent e, in EventFacts facts, Account account, Collector? collector,
        CompiledPolicy policy, AttemptWindow<TRow> window, AttemptWindow<TRow>.View view, IReadOnlyList<Account>? borrowerAccounts)
        where TRow : IAttemptRow
    {
        if (e.Kind is not (EventKind.Refusal or EventKind.ConsumerRequest or EventKind.CallConnected or EventKind.CallEnded) && !e.Imported
            && policy.JudgesValidationNotice(account))
        {
            var atNotice = e.Kind == EventKind.ValidationNoticeSent;
            foreach (var hit in policy.ValidationNoticeTiming(account, window.Before(e.At, null, view), e.At, atNotice, borrowerAccounts))
            {
                var violation = new Violation(hit, "");
                verdict.Violations.Add(violation);
                verdict.Raise(new IncidentFinding(hit.RuleId, hit.Citation, hit.Severity, account.AccountId, collector?.CollectorId ?? "",
                    $"Validation notice for account {account.AccountId}: {hit.Message}.", [e.EventId], e.At, OncePerDebt: !atNotice) { Violation = violation });
            }
        }

        var destination = verdict.Destination?.Class;
        var disclosure = string.IsNullOrEmpty(e.Text) ? null
            : JudgeWording(content, policy, e.Text, e.Channel, account, destination, verdict.Profiles, isSubject: false, verdict.Violations);
        // An e-mail's subject is read first, by anyone who sees the inbox: it is analysed on its own (an opt-out notice
        // belongs in the body).
        if (e.Kind == EventKind.MessageSent && e.Subject is { Length: > 0 } subject)
        {
            var inSubject = JudgeWording(content, policy, subject, e.Channel, account, destination, verdict.Profiles, isSubject: true, verdict.Violations);
            disclosure ??= inSubject;
        }

        if (disclosure is not null && verdict.Destination is not null && !e.Imported)
        {
            verdict.Raise(new IncidentFinding(DisclosureRule, ThirdPartyCitation, Severity.Critical, account.AccountId, collector?.CollectorId ?? "",
                $"A message mentioning the debt went to a number not registered on the account ({facts.Masked}): \"{disclosure}\"", [e.EventId], e.At));
        }

        verdict.Score(policy.Scoring);
    }

    /// <summary>
    /// Whether the event reports a contact the collector made, judged as the gate would have: a call placed, a message, a
    /// visit, or a voicemail on a call not known (one of a known call gives the call its outcome).
    /// </summary>
    public static bool IsContact(EventKind kind, bool callKnown) =>
        kind is EventKind.CallPlaced or EventKind.MessageSent or EventKind.Visit || (kind == EventKind.VoicemailLeft && !callKnown);

    /// <summary>The id of the attempt an event makes of its own.</summary>
    public static string AttemptIdOf(string eventId) => string.Concat(EventAttemptPrefix, eventId);

    /// <summary>Whether an attempt is an event's own (not a gate reservation, whose store row holds its outcome).</summary>
    public static bool IsEventAttempt(string attemptId) => attemptId.StartsWith(EventAttemptPrefix, StringComparison.Ordinal);

    /// <summary>The incident an address-book blast raises: the contacts counted, by their events (or the decisions they confirmed).</summary>
    public static IncidentFinding IncidentOf<TRow>(BlastFinding<TRow> blast, string accountId)
        where TRow : IAttemptRow
    {
        var counted = blast.Counted;
        var events = new List<string>(counted.Count);
        foreach (var row in counted)
        {
            events.Add(IsEventAttempt(row.AttemptId) ? row.AttemptId[EventAttemptPrefix.Length..] : row.AttemptId);
        }

        return new IncidentFinding(blast.Limit.RuleId, blast.Limit.Citation, blast.Limit.Severity, accountId, counted[^1].Attempt.CollectorId, blast.Summary,
            events, blast.End);
    }

    /// <summary>A contact the event reports: the gate's rules at its time, then the attempt it makes.</summary>
    private static void JudgeContactEvent(EventVerdict verdict, in ReportedEvent e, in EventFacts facts, Account account, Collector collector, CompiledPolicy policy,
        IReadOnlyList<Attempt> prior, IReadOnlyList<Account>? borrowerAccounts)
    {
        var destination = facts.Destination ?? throw new ArgumentException("a contact is judged with its resolved destination", nameof(facts));
        var outcome = e.Kind switch
        {
            EventKind.MessageSent => AttemptOutcome.Delivered,
            EventKind.Visit => AttemptOutcome.Visited,
            EventKind.VoicemailLeft => AttemptOutcome.Voicemail,
            _ => AttemptOutcome.Pending,
        };
        var candidate = ContactCandidate.For(account, collector, e.Channel, e.Purpose, destination, e.At, borrowerAccounts);
        var result = JudgeContact(policy, candidate, prior, facts.Standing, e.DecisionId, e.Imported, verdict.Violations);

        // The class the rules saw: a number recorded as not the consumer's is a stranger's, and the contact is recorded so.
        var seen = result.DestinationClass;
        verdict.Outcome = outcome;
        verdict.Destination = seen == destination.Class ? destination : destination with { Class = seen, ContactPoint = null, Party = null };
        verdict.DestinationUse = facts.Use;
        verdict.Profiles = result.Profiles;
        verdict.Change = AttemptChange.Add;
        verdict.Attempt = new Attempt(e.At, account.AccountId, collector.CollectorId, e.Channel, destination.DestinationHash, seen,
            seen == destination.Class ? destination.Party?.PartyId ?? "" : "", facts.Use, e.Purpose, outcome);
        // An allowed decision's reservation becomes this attempt, if the store still holds it pending (not released).
        verdict.Reservation = facts.Standing == GateStanding.Allowed ? e.DecisionId : null;
        verdict.ThirdPartyContact = BlastLimit.IsThirdParty(seen);
    }

    private static Flag NewFlag(in ReportedEvent e, FlagType type, Channel channel, string partyId = "", int source = 0, DateTimeOffset? windowFrom = null,
        DateTimeOffset? expires = null, string contactPointId = "") =>
        new("", type, e.At, expires, channel, partyId, contactPointId, e.Note, string.Concat("event:", e.EventId), null, windowFrom, source);

    /// <summary>
    /// A contact the event reports, judged as if it had asked the gate at its own time against <paramref name="prior"/>
    /// (the borrower's attempts before it, without its own reservation). A contact that quotes a decision the gate did
    /// not record, went ahead despite a deny, or skipped a gate that would have denied it is a violation of its own;
    /// imported history is judged by the rules but not blamed for skipping the gate.
    /// </summary>
    public static ContactVerdict JudgeContact(CompiledPolicy policy, ContactCandidate candidate, IReadOnlyList<Attempt> prior, GateStanding standing,
        string quotedDecision, bool imported)
    {
        var violations = new List<Violation>();
        var result = JudgeContact(policy, candidate, prior, standing, quotedDecision, imported, violations);
        return new ContactVerdict(result, violations);
    }

    private static GateResult JudgeContact(CompiledPolicy policy, ContactCandidate candidate, IReadOnlyList<Attempt> prior, GateStanding standing,
        string quotedDecision, bool imported, List<Violation> violations)
    {
        if (standing == GateStanding.UnknownDecision)
        {
            // The contact happened all the same: it is judged and counted, and its authorization cannot be shown.
            violations.Add(new Violation(new RuleHit(UnknownDecisionRule, IngestProfile, GateCitation,
                $"The event quotes gate decision '{quotedDecision}', which the gate did not record for account {candidate.Account.AccountId}.", false, Severity.Critical, null), ""));
        }

        var result = policy.Evaluate(candidate, prior, findNext: false);
        foreach (var hit in result.Hits)
        {
            violations.Add(new Violation(hit, ""));
        }

        if (standing == GateStanding.Denied)
        {
            violations.Add(new Violation(new RuleHit(DespiteDenyRule, IngestProfile, GateCitation,
                $"The contact went ahead although gate decision {quotedDecision} denied it.", false, Severity.Critical, null), ""));
        }
        else if (standing == GateStanding.NotAsked && !result.Allowed && !imported)
        {
            violations.Add(new Violation(new RuleHit(UnauthorizedRule, IngestProfile, GateCitation,
                $"The contact did not ask the gate, which would have denied it ({string.Join(", ", result.Hits.Where(h => !h.Shadow).Select(h => h.RuleId))}).",
                false, Severity.High, null), ""));
        }

        return result;
    }

    /// <summary>
    /// A message's wording (or an e-mail's subject, read on its own: an opt-out notice belongs in the body). US texts and
    /// e-mails need an opt-out notice, read from the profiles that judged the contact (or that apply to the account).
    /// Mentioning the debt to a number not registered on the account is a disclosure, reported as the verdict's excerpt.
    /// </summary>
    public static ContentVerdict JudgeContent(ContentAnalyzer content, CompiledPolicy policy, string text, Channel channel, Account account,
        DestinationClass? destination, IReadOnlyList<string>? profiles, bool isSubject = false)
    {
        var violations = new List<Violation>();
        var disclosure = JudgeWording(content, policy, text, channel, account, destination, profiles, isSubject, violations);
        return new ContentVerdict(violations, disclosure);
    }

    private static string? JudgeWording(ContentAnalyzer content, CompiledPolicy policy, string text, Channel channel, Account account,
        DestinationClass? destination, IReadOnlyList<string>? profiles, bool isSubject, List<Violation> violations)
    {
        var toThirdParty = destination is { } d && BlastLimit.IsThirdParty(d);
        var requireOptOut = !isSubject && channel is Channel.Sms or Channel.Email && AnyUs(profiles ?? policy.ProfilesFor(account));
        string? disclosure = null;
        foreach (var finding in content.Analyze(text, new ContentContext(channel, toThirdParty, requireOptOut)))
        {
            var hit = new RuleHit(finding.RuleId, "CONTENT", finding.Citation, $"{finding.Category}: '{finding.Term}'", false, finding.Severity, null);
            violations.Add(new Violation(hit, finding.Excerpt));
            if (finding.Category == ContentCategory.DebtDisclosure && destination == DestinationClass.Unknown)
            {
                disclosure ??= finding.Excerpt;
            }
        }

        return disclosure;
    }

    private static bool AnyUs(IReadOnlyList<string> profiles)
    {
        for (var i = 0; i < profiles.Count; i++)
        {
            if (profiles[i].StartsWith("US-", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The flag a consumer's request sets where it is a plain flag (consent and wrong numbers carry more and are set by their own paths).</summary>
    public static FlagType? FlagOf(ConsumerRequestType type) => type switch
    {
        ConsumerRequestType.StopContact => FlagType.CeaseCommunication,
        ConsumerRequestType.OptOutMedium => FlagType.MediumOptOut,
        ConsumerRequestType.AttorneyRepresented => FlagType.AttorneyRepresented,
        ConsumerRequestType.Dispute => FlagType.Dispute,
        ConsumerRequestType.ConsentToCalls => FlagType.ConsentToContact,
        ConsumerRequestType.WrongNumber => FlagType.WrongNumber,
        _ => null,
    };

    /// <summary>
    /// Address-book blasts about one account: more distinct third parties within a blast rule's window than it allows,
    /// with one of <paramref name="contacts"/> (the newly reported contacts with third parties) among them. Earlier
    /// calls to a number since recorded as not the consumer's count as contacts with a stranger. A rule in shadow mode
    /// finds its blasts too (watched, not enforced), and its summary says so.
    /// </summary>
    public static List<BlastFinding<T>> Blasts<T>(CompiledPolicy policy, Account account, IReadOnlyList<T> window, Func<T, Attempt> attempt,
        IReadOnlyCollection<DateTimeOffset> contacts)
    {
        var wrong = CompiledPolicy.WrongNumbersOf(account, null);
        var found = new List<BlastFinding<T>>();
        foreach (var limit in policy.BlastLimitsFor(account))
        {
            foreach (var (end, counted) in limit.Blasts(window, r => wrong.Apply(attempt(r)), account.AccountId, contacts))
            {
                var distinct = counted.Select(r => BlastLimit.ThirdParty(attempt(r))).Distinct(StringComparer.Ordinal).Count();
                found.Add(new BlastFinding<T>(limit, end, counted,
                    $"{distinct} distinct third parties were contacted about account {account.AccountId} within {limit.Window.TotalHours:0} hours (at most {limit.MaxThirdParties}): address-book explosion{(limit.Shadow ? " (rule in shadow mode)" : "")}."));
            }
        }

        return found;
    }
}
