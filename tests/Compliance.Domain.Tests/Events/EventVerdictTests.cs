using Compliance.Domain.Content;
using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Domain.Tests.Rules;

namespace Compliance.Domain.Tests.Events;

/// <summary>
/// An event judged whole (<see cref="EventJudge.Judge{TRow}"/>, then <see cref="EventJudge.Conclude{TRow}"/>): from the
/// event, the facts the server looked up, the account, the collector, the policy and the borrower's window to the verdict
/// the server applies. The clock is pinned: Monday 2 February 2026, 10:00 in New York.
/// </summary>
public sealed class EventVerdictTests
{
    private static readonly DateTimeOffset Monday10 = new(2026, 2, 2, 10, 0, 0, TimeSpan.FromHours(-5));
    private static readonly CompiledPolicy Policy = PolicyCompiler.Compile(null, "v1", Monday10, ProfileCatalog.BuiltIn).Policy!;
    private static readonly ContentAnalyzer Content = new(Lexicon.BuiltIn);
    private static readonly Collector Collector = new("L1", "C1", "AG1", "Collector One", CollectorKind.Human, true);
    private static readonly Account Account = ScenarioWorld.Account(new ScenarioAccount { Country = "US", Region = "US-NY", Zone = "America/New_York" }, "A1");

    private static ReportedEvent Event(EventKind kind, Channel channel = Channel.VoiceCall, DateTimeOffset? at = null, string decision = "", string call = "") =>
        new(kind, "e1", at ?? Monday10, channel, ContactPurpose.CollectDebt, decision, call, Imported: false);

    private static Attempt Placed(DateTimeOffset at, AttemptOutcome outcome = AttemptOutcome.NoAnswer, Channel channel = Channel.VoiceCall) =>
        new(at, "A1", "C1", channel, "hash-mobile", DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, outcome);

    private static EventFacts ToOwnMobile(GateStanding standing = GateStanding.NotAsked, Account? account = null) =>
        new(standing, ScenarioWorld.Destination(account ?? Account, "mobile", []), "+1 212*****00", ContactPointUse.Mobile);

    private static (EventVerdict Verdict, AttemptWindow<WindowRow> Window) Judge(ReportedEvent e, EventFacts facts, Account? account = null, AttemptWindow<WindowRow>? window = null)
    {
        window ??= new AttemptWindow<WindowRow>();
        var view = new AttemptWindow<WindowRow>.View();
        var verdict = EventJudge.Judge(e, facts, account ?? Account, Collector, Policy, window, view, null);
        return (verdict, window);
    }

    /// <summary>What each kind of event makes of the borrower's state: its outcome, how it changes the window, the flag it sets.</summary>
    private static readonly Dictionary<string, (ReportedEvent Event, EventFacts Facts, AttemptOutcome Outcome, AttemptChange Change, FlagType? Flag)> Kinds = new()
    {
        ["a call placed"] = (Event(EventKind.CallPlaced), ToOwnMobile(), AttemptOutcome.Pending, AttemptChange.Add, null),
        ["a text sent"] = (Event(EventKind.MessageSent, Channel.Sms), ToOwnMobile(), AttemptOutcome.Delivered, AttemptChange.Add, null),
        ["a visit"] = (Event(EventKind.Visit, Channel.Visit), ToOwnMobile(), AttemptOutcome.Visited, AttemptChange.Add, null),
        ["a voicemail of a call not known"] = (Event(EventKind.VoicemailLeft, call: "call-9"), ToOwnMobile(), AttemptOutcome.Voicemail, AttemptChange.Add, null),
        ["a voicemail of a known call"] = (Event(EventKind.VoicemailLeft, call: "call-1"), new(Call: Placed(Monday10.AddMinutes(-5)), CallAttemptId: "dec_1"),
            AttemptOutcome.Voicemail, AttemptChange.UpdateCall, null),
        ["a call connected with a conversation"] = (Event(EventKind.CallConnected, call: "call-1") with { Conversation = true },
            new(Call: Placed(Monday10.AddMinutes(-5)), CallAttemptId: "dec_1"), AttemptOutcome.Conversation, AttemptChange.UpdateCall, null),
        ["a call answered without a conversation"] = (Event(EventKind.CallConnected, call: "call-1"), new(Call: Placed(Monday10.AddMinutes(-5)), CallAttemptId: "dec_1"),
            AttemptOutcome.AnsweredNoConversation, AttemptChange.UpdateCall, null),
        ["a call ended busy"] = (Event(EventKind.CallEnded, call: "call-1") with { Ended = AttemptOutcome.NotConnected },
            new(Call: Placed(Monday10.AddMinutes(-5)), CallAttemptId: "dec_1"), AttemptOutcome.NotConnected, AttemptChange.UpdateCall, null),
        ["a call ended without saying how keeps the call's outcome"] = (Event(EventKind.CallEnded, call: "call-1"),
            new(Call: Placed(Monday10.AddMinutes(-5), AttemptOutcome.Conversation), CallAttemptId: "evt:e0"), AttemptOutcome.Conversation, AttemptChange.UpdateCall, null),
        ["a call-in with a conversation"] = (Event(EventKind.InboundCall) with { Conversation = true }, EventFacts.None, AttemptOutcome.InboundConversation, AttemptChange.Add, null),
        ["a call-in without one"] = (Event(EventKind.InboundCall), EventFacts.None, AttemptOutcome.Inbound, AttemptChange.Add, null),
        ["a refusal"] = (Event(EventKind.Refusal) with { PartyId = "spouse" }, EventFacts.None, AttemptOutcome.Pending, AttemptChange.None, FlagType.ThirdPartyRefused),
        ["a request to stop"] = (Event(EventKind.ConsumerRequest) with { Request = ConsumerRequestType.StopContact }, EventFacts.None, AttemptOutcome.Pending, AttemptChange.None,
            FlagType.CeaseCommunication),
        ["an attorney named"] = (Event(EventKind.ConsumerRequest) with { Request = ConsumerRequestType.AttorneyRepresented }, EventFacts.None, AttemptOutcome.Pending,
            AttemptChange.None, FlagType.AttorneyRepresented),
        ["a time said to be inconvenient sets no flag"] = (Event(EventKind.ConsumerRequest) with { Request = ConsumerRequestType.InconvenientTime }, EventFacts.None,
            AttemptOutcome.Pending, AttemptChange.None, null),
        ["consent to calls"] = (Event(EventKind.ConsumerRequest) with
        {
            Request = ConsumerRequestType.ConsentToCalls, RequestChannel = Channel.VoiceCall, WindowFrom = Monday10.AddDays(1), WindowTo = Monday10.AddDays(2),
        }, EventFacts.None, AttemptOutcome.Pending, AttemptChange.None, FlagType.ConsentToContact),
        ["a wrong number"] = (Event(EventKind.ConsumerRequest) with { Request = ConsumerRequestType.WrongNumber }, ToOwnMobile(), AttemptOutcome.Pending, AttemptChange.None,
            FlagType.WrongNumber),
        ["a validation notice"] = (Event(EventKind.ValidationNoticeSent, Channel.Letter) with { Source = (int)ValidationDelivery.Written }, EventFacts.None,
            AttemptOutcome.Pending, AttemptChange.None, FlagType.ValidationNoticeSent),
    };

    public static TheoryData<string> KindNames() => new(Kinds.Keys);

    [Theory]
    [MemberData(nameof(KindNames))]
    public void EachKind_HasItsOutcome_WindowChange_AndFlag(string name)
    {
        var (e, facts, outcome, change, flag) = Kinds[name];

        var (verdict, _) = Judge(e, facts);

        Assert.Equal(outcome, verdict.Outcome);
        Assert.Equal(change, verdict.Change);
        Assert.Equal(flag, verdict.Flag?.Type);
        if (verdict.Flag is { } set)
        {
            Assert.Equal((Monday10, "event:e1"), (set.EffectiveFrom, set.SetBy));
        }

        if (change != AttemptChange.None)
        {
            var at = change == AttemptChange.UpdateCall ? facts.Call!.Value.At : e.At;
            Assert.Equal((at, outcome, "A1"), (verdict.Attempt.At, verdict.Attempt.Outcome, verdict.Attempt.AccountId));
        }
    }

    [Fact]
    public void ConsentAndWrongNumber_CarryTheirWindowAndNumber()
    {
        var consent = Judge(Kinds["consent to calls"].Event, EventFacts.None).Verdict.Flag!;
        var wrong = Judge(Kinds["a wrong number"].Event, ToOwnMobile()).Verdict.Flag!;
        var notice = Judge(Kinds["a validation notice"].Event, EventFacts.None).Verdict.Flag!;

        Assert.Equal((Monday10.AddDays(1), Monday10.AddDays(2), Channel.VoiceCall), (consent.WindowFrom, consent.ExpiresAt, consent.Channel));
        Assert.Equal(("mobile", (int)WrongNumberSource.ThirdParty), (wrong.ContactPointId, wrong.Source));
        Assert.Equal(((int)ValidationDelivery.Written, Channel.Letter), (notice.Source, notice.Channel));
    }

    [Fact]
    public void CallQuotingAnAllowedDecision_ConfirmsItsReservation_AndIsJudgedWithoutIt()
    {
        // Six calls this week and the reservation the gate made for this one: a seventh call is within the limit.
        var window = new AttemptWindow<WindowRow>();
        for (var i = 0; i < 6; i++)
        {
            window.Add(new WindowRow($"evt:c{i}", "", Placed(Monday10.AddDays(-6).AddHours(i))));
        }

        window.Add(new WindowRow("dec_1", "", Placed(Monday10.AddMinutes(-1), AttemptOutcome.Pending)));

        var (quoting, _) = Judge(Event(EventKind.CallPlaced, decision: "dec_1"), ToOwnMobile(GateStanding.Allowed), window: window);
        var (notAsking, _) = Judge(Event(EventKind.CallPlaced), ToOwnMobile(), window: window);

        Assert.Equal("dec_1", quoting.Reservation);
        Assert.Empty(quoting.Violations);
        Assert.Null(notAsking.Reservation);
        Assert.Equal(["US-REGF.call-frequency", EventJudge.UnauthorizedRule], notAsking.Violations.Select(v => v.Rule.RuleId));
    }

    [Fact]
    public void CallTheGateDenied_ConfirmsNothing_AndSaysItWentAheadDespiteTheDeny()
    {
        var (verdict, _) = Judge(Event(EventKind.CallPlaced, decision: "dec_2"), ToOwnMobile(GateStanding.Denied));

        Assert.Null(verdict.Reservation);
        Assert.Contains(verdict.Violations, v => v.Rule.RuleId == EventJudge.DespiteDenyRule);
    }

    [Fact]
    public void TextToAnUnknownNumber_IsRecordedAsAThirdPartyContact()
    {
        var facts = new EventFacts(GateStanding.NotAsked, ScenarioWorld.Destination(Account, "stranger", []), "+1 555*****01", ContactPointUse.Unspecified);

        var (verdict, _) = Judge(Event(EventKind.MessageSent, Channel.Sms), facts);

        Assert.True(verdict.ThirdPartyContact);
        Assert.Equal(DestinationClass.Unknown, verdict.Attempt.DestinationClass);
        Assert.Contains(verdict.Violations, v => v.Rule.RuleId == "US-REGF.third-parties");
    }

    [Fact]
    public void CallToANumberRecordedAsWrong_IsRecordedAsAStrangers()
    {
        var flagged = Account with
        {
            Flags = [new Flag("f1", FlagType.WrongNumber, Monday10.AddDays(-1), null, Channel.Unspecified, "", "mobile", "", "test", null, null, (int)WrongNumberSource.Consumer)],
        };

        var (verdict, _) = Judge(Event(EventKind.CallPlaced), ToOwnMobile(account: flagged), flagged);

        Assert.Equal(DestinationClass.Unknown, verdict.Destination!.Class);
        Assert.Null(verdict.Destination.ContactPoint);
        Assert.Equal((DestinationClass.Unknown, ""), (verdict.Attempt.DestinationClass, verdict.Attempt.PartyId));
        Assert.True(verdict.ThirdPartyContact);
    }

    [Fact]
    public void CallIn_FromANumberRegisteredNowhere_IsTheConsumers()
    {
        var facts = new EventFacts(Destination: ScenarioWorld.Destination(Account, "stranger", []), Masked: "+1 555*****01");

        var (verdict, _) = Judge(Event(EventKind.InboundCall) with { Conversation = true }, facts);

        Assert.Equal(DestinationClass.Own, verdict.Destination!.Class);
        Assert.Equal(DestinationClass.Own, verdict.Attempt.DestinationClass);
        Assert.False(verdict.ThirdPartyContact);
        Assert.Empty(verdict.Violations);
    }

    [Fact]
    public void UsTextWithoutOptOut_IsAViolation_ScoredByThePolicysWeights()
    {
        var e = Event(EventKind.MessageSent, Channel.Sms) with { Text = "Please call us about your account." };
        var facts = ToOwnMobile();
        var (verdict, window) = Judge(e, facts);

        EventJudge.Conclude(verdict, Content, e, facts, Account, Collector, Policy, window, new AttemptWindow<WindowRow>.View(), null);

        Assert.Contains(verdict.Violations, v => v.Rule.Profile == "CONTENT");
        Assert.Equal(Policy.Scoring.Of(verdict.Violations), verdict.RiskScore);
        Assert.True(verdict.RiskScore > 0);
        Assert.Empty(verdict.Incidents);
    }

    public static TheoryData<string, bool, int> Disclosures() => new()
    {
        // name, imported -> disclosure incidents
        { "a live text", false, 1 },
        { "imported history is judged, not alerted on", true, 0 },
    };

    [Theory]
    [MemberData(nameof(Disclosures))]
    public void DebtMentionedToAnUnknownNumber_RaisesADisclosure_NamingTheMaskedNumber(string name, bool imported, int incidents)
    {
        var e = Event(EventKind.MessageSent, Channel.Sms) with { Text = "Your overdue debt must be repaid today. Reply STOP to opt out.", Imported = imported };
        var facts = new EventFacts(GateStanding.NotAsked, ScenarioWorld.Destination(Account, "stranger", []), "+1 555*****01", ContactPointUse.Unspecified);
        var (verdict, window) = Judge(e, facts);

        EventJudge.Conclude(verdict, Content, e, facts, Account, Collector, Policy, window, new AttemptWindow<WindowRow>.View(), null);

        Assert.True(incidents == verdict.Incidents.Count, name);
        if (incidents > 0)
        {
            var finding = verdict.Incidents[0];
            Assert.Equal((EventJudge.DisclosureRule, "A1", "C1", false), (finding.RuleId, finding.AccountId, finding.CollectorId, finding.OncePerDebt));
            Assert.Contains("(+1 555*****01)", finding.Summary, StringComparison.Ordinal);
            Assert.Equal(["e1"], finding.EventIds);
        }
    }

    [Fact]
    public void NoticeMissingAfterItsDeadline_IsFoundOncePerDebt_AndWithdrawnWhereTheDebtHasItsIncident()
    {
        // An e-mail delivered on Monday 2 March; a call on Sunday 8 March finds the notice still missing (due by the end of the 7th).
        var window = new AttemptWindow<WindowRow>();
        window.Add(new WindowRow("evt:m1", "", Placed(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.FromHours(-5)), AttemptOutcome.Delivered, Channel.Email)));
        var at = new DateTimeOffset(2026, 3, 8, 10, 0, 0, TimeSpan.FromHours(-4));
        var e = Event(EventKind.CallPlaced, at: at);
        var facts = ToOwnMobile();
        var (verdict, _) = Judge(e, facts, window: window);

        EventJudge.Conclude(verdict, Content, e, facts, Account, Collector, Policy, window, new AttemptWindow<WindowRow>.View(), null);
        var finding = Assert.Single(verdict.Incidents);
        var risk = verdict.RiskScore;
        verdict.Withdraw(finding);

        Assert.Equal(("US-REGF.validation-notice", true), (finding.RuleId, finding.OncePerDebt));
        Assert.True(risk > 0);
        Assert.Empty(verdict.Incidents);
        Assert.DoesNotContain(verdict.Violations, v => v.Rule.RuleId == "US-REGF.validation-notice");
        Assert.Equal(Policy.Scoring.Of(verdict.Violations), verdict.RiskScore);
    }

    [Fact]
    public void NoticeSentLate_IsAViolationOfItsOwnEvent()
    {
        var window = new AttemptWindow<WindowRow>();
        window.Add(new WindowRow("evt:m1", "", Placed(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.FromHours(-5)), AttemptOutcome.Conversation)));
        var at = new DateTimeOffset(2026, 3, 8, 10, 0, 0, TimeSpan.FromHours(-4));
        var e = Event(EventKind.ValidationNoticeSent, Channel.Letter, at: at);
        var (verdict, _) = Judge(e, EventFacts.None, window: window);
        // The server applies the flag before the verdict is concluded.
        var sent = Account with { Flags = [verdict.Flag! with { FlagId = "f1" }] };

        EventJudge.Conclude(verdict, Content, e, EventFacts.None, sent, Collector, Policy, window, new AttemptWindow<WindowRow>.View(), null);

        var finding = Assert.Single(verdict.Incidents);
        Assert.Equal(("US-REGF.validation-notice", false), (finding.RuleId, finding.OncePerDebt));
        Assert.Contains(verdict.Violations, v => v.Rule.RuleId == "US-REGF.validation-notice");
    }

    [Fact]
    public void BlastIncident_NamesTheEventsCounted_AndTheDecisionsTheyConfirmed()
    {
        var rows = Enumerable.Range(0, 4).Select(i => new WindowRow(i == 0 ? "dec_0" : $"evt:e{i}", "", new Attempt(Monday10.AddHours(i), "A1", "C1", Channel.Sms,
            $"hash-stranger-{i}", DestinationClass.Unknown, "", ContactPointUse.Unspecified, ContactPurpose.LocateBorrower, AttemptOutcome.Delivered))).ToList();
        var blast = Assert.Single(EventJudge.Blasts(Policy, Account, rows, r => r.Attempt, [rows[^1].Attempt.At]), b => !b.Limit.Shadow);

        var finding = EventJudge.IncidentOf(blast, "A1");

        Assert.Equal(["dec_0", "e1", "e2", "e3"], finding.EventIds);
        Assert.Equal((blast.Limit.RuleId, blast.End, blast.Summary), (finding.RuleId, finding.At, finding.Summary));
    }
}
