using Compliance.Domain.Content;
using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Domain.Tests.Rules;

namespace Compliance.Domain.Tests.Events;

/// <summary>
/// The monitor's engine over (event, window, account, policy): a reported contact is judged by the same compiled
/// policy as the gate, and what the gate's standing adds; wording, consumer requests and address-book blasts. The
/// clock is pinned: Monday 2 February 2026, 10:00 in New York.
/// </summary>
public sealed class EventJudgeTests
{
    private static readonly DateTimeOffset Monday10 = new(2026, 2, 2, 10, 0, 0, TimeSpan.FromHours(-5));
    private static readonly CompiledPolicy Policy = PolicyCompiler.Compile(null, "v1", Monday10, ProfileCatalog.BuiltIn).Policy!;
    private static readonly ContentAnalyzer Content = new(Lexicon.BuiltIn);

    private static ContactCandidate Call(DateTimeOffset at, string to = "mobile", Channel channel = Channel.VoiceCall)
    {
        var account = ScenarioWorld.Account(new ScenarioAccount { Country = "US", Region = "US-NY", Zone = "America/New_York" }, "A1");
        return new ContactCandidate(account, "C1", CollectorKind.Human, channel, ContactPurpose.CollectDebt, ScenarioWorld.Destination(account, to, []), at);
    }

    private static List<Attempt> Calls(int count, DateTimeOffset first) =>
        Enumerable.Range(0, count).Select(i => new Attempt(first.AddHours(i), "A1", "C1", Channel.VoiceCall, "hash-mobile",
            DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, AttemptOutcome.NoAnswer)).ToList();

    public static TheoryData<string, int, GateStanding, bool, string[]> Contacts() => new()
    {
        // name, calls in the week before, standing with the gate, imported -> rule ids in the order reported
        { "within the limits, not asked", 0, GateStanding.NotAsked, false, [] },
        { "within the limits, allowed", 0, GateStanding.Allowed, false, [] },
        { "an eighth call that skipped the gate", 7, GateStanding.NotAsked, false, ["US-REGF.call-frequency", EventJudge.UnauthorizedRule] },
        { "an eighth call the gate allowed is judged all the same", 7, GateStanding.Allowed, false, ["US-REGF.call-frequency"] },
        { "a call the gate denied", 7, GateStanding.Denied, false, ["US-REGF.call-frequency", EventJudge.DespiteDenyRule] },
        { "a call quoting an unknown decision", 0, GateStanding.UnknownDecision, false, [EventJudge.UnknownDecisionRule] },
        { "imported history is not blamed for skipping the gate", 7, GateStanding.NotAsked, true, ["US-REGF.call-frequency"] },
    };

    [Theory]
    [MemberData(nameof(Contacts))]
    public void Contact_IsJudgedByTheGatesRules_PlusItsStandingWithTheGate(string name, int before, GateStanding standing, bool imported, string[] expected)
    {
        var candidate = Call(Monday10);
        var prior = Calls(before, Monday10.AddDays(-6));

        var verdict = EventJudge.JudgeContact(Policy, candidate, prior, standing, "dec_1", imported);

        Assert.True(expected.SequenceEqual(verdict.Violations.Select(v => v.Rule.RuleId)), $"{name}: {string.Join(", ", verdict.Violations.Select(v => v.Rule.RuleId))}");
        Assert.Equal(Policy.Evaluate(candidate, prior, findNext: false).Allowed, verdict.Gate.Allowed);
        Assert.All(verdict.Violations.Where(v => v.Rule.Profile == EventJudge.IngestProfile), v => Assert.Equal(EventJudge.GateCitation, v.Rule.Citation));
    }

    [Fact]
    public void Contact_JudgedAsTheGateWould_GivesTheGatesHitsWithTheirCitations()
    {
        var candidate = Call(Monday10, to: "unknown");

        var verdict = EventJudge.JudgeContact(Policy, candidate, [], GateStanding.NotAsked, "", imported: false);

        var gate = Policy.Evaluate(candidate, [], findNext: false);
        Assert.Equal(gate.Hits.Select(h => (h.RuleId, h.Citation)), verdict.Gate.Hits.Select(h => (h.RuleId, h.Citation)));
        Assert.Contains(verdict.Violations, v => v.Rule.RuleId == "US-REGF.third-parties" && v.Rule.Citation == "12 CFR 1006.6(d)");
    }

    [Fact]
    public void UsText_WithoutOptOutNotice_IsAViolation_ButItsSubjectNeedNotCarryOne()
    {
        var account = Call(Monday10).Account;

        var body = EventJudge.JudgeContent(Content, Policy, "Please call us about your account.", Channel.Sms, account, DestinationClass.Own, null);
        var subject = EventJudge.JudgeContent(Content, Policy, "Please call us about your account.", Channel.Email, account, DestinationClass.Own, null, isSubject: true);

        Assert.Contains(body.Violations, v => v.Rule.Profile == "CONTENT" && v.Rule.Message.StartsWith(nameof(ContentCategory.MissingOptOut), StringComparison.Ordinal));
        Assert.Empty(subject.Violations);
        Assert.Null(body.Disclosure);
    }

    [Fact]
    public void DebtMentionedToAnUnknownNumber_IsADisclosure_WithItsExcerpt()
    {
        var account = Call(Monday10).Account;
        const string text = "Your overdue debt must be repaid today. Reply STOP to opt out.";

        var toUnknown = EventJudge.JudgeContent(Content, Policy, text, Channel.Sms, account, DestinationClass.Unknown, null);
        var toOwn = EventJudge.JudgeContent(Content, Policy, text, Channel.Sms, account, DestinationClass.Own, null);

        Assert.NotNull(toUnknown.Disclosure);
        Assert.Contains(toUnknown.Violations, v => v.Excerpt == toUnknown.Disclosure);
        Assert.Null(toOwn.Disclosure);
    }

    public static TheoryData<ConsumerRequestType, FlagType?> Requests() => new()
    {
        { ConsumerRequestType.StopContact, FlagType.CeaseCommunication },
        { ConsumerRequestType.OptOutMedium, FlagType.MediumOptOut },
        { ConsumerRequestType.AttorneyRepresented, FlagType.AttorneyRepresented },
        { ConsumerRequestType.Dispute, FlagType.Dispute },
        { ConsumerRequestType.ConsentToCalls, FlagType.ConsentToContact },
        { ConsumerRequestType.WrongNumber, FlagType.WrongNumber },
        { ConsumerRequestType.InconvenientTime, null },
        { ConsumerRequestType.Unspecified, null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void ConsumerRequest_SetsItsFlag(ConsumerRequestType request, FlagType? expected) =>
        Assert.Equal(expected, EventJudge.FlagOf(request));

    [Fact]
    public void FourStrangersInADay_AreOneBlast_NamingTheCountAndTheLimit()
    {
        var account = Call(Monday10).Account;
        var window = Enumerable.Range(0, 4).Select(i => new Attempt(Monday10.AddHours(i), "A1", "C1", Channel.Sms, $"hash-stranger-{i}",
            DestinationClass.Unknown, "", ContactPointUse.Unspecified, ContactPurpose.LocateBorrower, AttemptOutcome.Delivered)).ToList();

        var blasts = EventJudge.Blasts(Policy, account, window, a => a, [window[^1].At]);
        var fewer = EventJudge.Blasts(Policy, account, window[..3], a => a, [window[2].At]);

        var blast = Assert.Single(blasts, b => !b.Limit.Shadow);
        Assert.Equal(4, blast.Counted.Count);
        Assert.Equal(window[^1].At, blast.End);
        Assert.StartsWith("4 distinct third parties were contacted about account A1", blast.Summary, StringComparison.Ordinal);
        Assert.Empty(fewer);
    }
}
