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

        return new ContactVerdict(result, violations);
    }

    /// <summary>
    /// A message's wording (or an e-mail's subject, read on its own: an opt-out notice belongs in the body). US texts and
    /// e-mails need an opt-out notice, read from the profiles that judged the contact (or that apply to the account).
    /// Mentioning the debt to a number not registered on the account is a disclosure, reported as the verdict's excerpt.
    /// </summary>
    public static ContentVerdict JudgeContent(ContentAnalyzer content, CompiledPolicy policy, string text, Channel channel, Account account,
        DestinationClass? destination, IReadOnlyList<string>? profiles, bool isSubject = false)
    {
        var toThirdParty = destination is { } d && BlastLimit.IsThirdParty(d);
        var requireOptOut = !isSubject && channel is Channel.Sms or Channel.Email
            && (profiles ?? policy.ProfilesFor(account)).Any(p => p.StartsWith("US-", StringComparison.Ordinal));
        var violations = new List<Violation>();
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

        return new ContentVerdict(violations, disclosure);
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
