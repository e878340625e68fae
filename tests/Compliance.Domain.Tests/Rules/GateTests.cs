using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Tests.Rules;

/// <summary>The gate's API beyond single decisions: result fields, the next-allowed search, thread safety.</summary>
public sealed class GateTests
{
    private static readonly DateTimeOffset Monday10 = new(2026, 2, 2, 10, 0, 0, TimeSpan.FromHours(-5));
    private static readonly CompiledPolicy Default = PolicyCompiler.Compile(null, "v7", Monday10, ProfileCatalog.BuiltIn).Policy!;

    private static ContactCandidate Candidate(string region, DateTimeOffset at, string to = "mobile", string zone = "America/New_York")
    {
        var spec = new ScenarioAccount { Country = region[..2], Region = region, Zone = zone };
        var account = ScenarioWorld.Account(spec, "A1");
        return new ContactCandidate(account, "C1", CollectorKind.Human, Channel.VoiceCall, ContactPurpose.CollectDebt,
            ScenarioWorld.Destination(account, to, []), at);
    }

    private static List<Attempt> Calls(ContactCandidate candidate, DateTimeOffset first, int count, TimeSpan every, AttemptOutcome outcome = AttemptOutcome.NoAnswer) =>
        Enumerable.Range(0, count).Select(i => new Attempt(first + (every * i), "A1", "C1", Channel.VoiceCall, "hash-mobile",
            DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, outcome)).ToList();

    [Fact]
    public void Result_NamesTheProfilesPolicyVersionAndDestinationClass()
    {
        var candidate = Candidate("US-MA", Monday10);

        var result = Default.Evaluate(candidate, []);

        Assert.True(result.Allowed);
        Assert.Empty(result.Hits);
        Assert.Null(result.NextAllowedAt);
        Assert.Equal(["BASE", "US-MA", "US-REGF"], result.Profiles.Order(StringComparer.Ordinal));
        Assert.Equal(DestinationClass.Own, result.DestinationClass);
        Assert.Equal("v7", result.PolicyVersion);
    }

    [Fact]
    public void UnknownThirdParty_IsDenied_WithCriticalSeverityAndCitation()
    {
        var candidate = Candidate("US-NY", Monday10, to: "unknown");

        var result = Default.Evaluate(candidate, []);

        Assert.False(result.Allowed);
        var hit = Assert.Single(result.Hits, h => h.RuleId == "US-REGF.third-parties");
        Assert.Equal("12 CFR 1006.6(d)", hit.Citation);
        Assert.Equal(Severity.Critical, hit.Severity);
        Assert.Null(result.NextAllowedAt);
        Assert.Null(Default.NextAllowed(candidate, [], TimeSpan.FromDays(60)));
    }

    [Fact]
    public void NextAllowed_IsTheCandidateInstant_WhenAllowedNow()
    {
        var candidate = Candidate("US-NY", Monday10);

        Assert.Equal(Monday10, Default.NextAllowed(candidate, [], TimeSpan.FromDays(1)));
    }

    [Fact]
    public void NextAllowed_CombinesTheCapAndTheHours()
    {
        // Seven calls at 21:30 each evening (reported by a dialer that skipped the gate): the first day's call stops
        // counting at the start of day 8 (calendar days), before the hours open, so the next allowed instant is 08:00
        // on day 8.
        var first = new DateTimeOffset(2026, 2, 2, 21, 30, 0, TimeSpan.FromHours(-5));
        var candidate = Candidate("US-NY", first.AddDays(6).AddMinutes(10));
        var history = Calls(candidate, first, 7, TimeSpan.FromDays(1));

        var next = Default.NextAllowed(candidate, history, TimeSpan.FromDays(30));

        Assert.Equal(new DateTimeOffset(2026, 2, 9, 8, 0, 0, TimeSpan.FromHours(-5)), next);
        Assert.Equal(next, Default.Evaluate(candidate, history).NextAllowedAt);
    }

    [Fact]
    public void NextAllowed_IsNull_WhenNothingIsAllowedWithinTheHorizon()
    {
        var candidate = Candidate("US-NY", new DateTimeOffset(2026, 2, 2, 22, 0, 0, TimeSpan.FromHours(-5)));

        Assert.Null(Default.NextAllowed(candidate, [], TimeSpan.FromHours(2)));
    }

    [Fact]
    public void HistoryOrder_DoesNotChangeTheDecision()
    {
        var candidate = Candidate("US-NY", Monday10.AddDays(6).AddHours(8));
        var history = Calls(candidate, Monday10, 7, TimeSpan.FromDays(1));
        history.Reverse();

        var result = Default.Evaluate(candidate, history);

        Assert.False(result.Allowed);
        Assert.Equal(Monday10.AddDays(7).AddHours(-2), result.NextAllowedAt);
    }

    [Fact]
    public void Evaluate_GivesTheSameAnswersFromManyThreads()
    {
        var candidate = Candidate("US-NY", Monday10.AddDays(6).AddHours(8));
        var history = Calls(candidate, Monday10, 7, TimeSpan.FromDays(1));
        var expected = Default.Evaluate(candidate, history);

        var answers = new System.Collections.Concurrent.ConcurrentBag<DateTimeOffset?>();
        Parallel.For(0, 64, _ => answers.Add(Default.Evaluate(candidate, history).NextAllowedAt));

        Assert.All(answers, a => Assert.Equal(expected.NextAllowedAt, a));
    }

    [Fact]
    public void ProfilesFor_AddsTheAccountsExplicitProfiles_AndIgnoresUnknownIds()
    {
        var spec = new ScenarioAccount { Country = "US", Region = "US-NY", Profiles = ["US-WA", "XX-NONE"] };
        var account = ScenarioWorld.Account(spec, "A1");

        Assert.Equal(["BASE", "US-REGF", "US-WA"], Default.ProfilesFor(account).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Lookback_GrowsWithALongerWindowSetByTheLender()
    {
        const string document = """
            overrides:
              US-MA.calls-other-numbers: { window_days: 45 }
            """;

        var policy = PolicyCompiler.Compile(document, "v8", Monday10, ProfileCatalog.BuiltIn).Policy!;

        Assert.Equal(TimeSpan.FromDays(48), policy.Lookback);
    }

    [Fact]
    public void UnknownZoneOnAThirdPartysPhone_FallsBackToTheBorrowersZone()
    {
        var spec = new ScenarioAccount { Country = "US", Region = "US-NY", Zone = "America/New_York", Invalid = ["mobile", "home", "work", "other"] };
        var account = ScenarioWorld.Account(spec, "A1");
        var destination = ScenarioWorld.Destination(account, "friend", ["Mars/Olympus_Mons"]);
        var candidate = new ContactCandidate(account, "C1", CollectorKind.Human, Channel.VoiceCall, ContactPurpose.LocateBorrower,
            destination, new DateTimeOffset(2026, 2, 3, 7, 30, 0, TimeSpan.FromHours(-5)));

        var result = Default.Evaluate(candidate, []);

        Assert.Equal(["US-REGF.hours"], result.Hits.Select(h => h.RuleId));
        Assert.Equal(new DateTimeOffset(2026, 2, 3, 8, 0, 0, TimeSpan.FromHours(-5)), result.NextAllowedAt);
    }

    [Theory]
    [InlineData(false, false)] // friend, colleague and a sibling with the colleague's number, on one account: three people
    [InlineData(true, true)]   // the sibling on another debt of the borrower, sharing the colleague's number: the colleague again
    public void ContactsTheBorrowerSupplied_AreCountedByPerson(bool siblingOnAnotherDebt, bool allowed)
    {
        var spec = new ScenarioAccount { Country = "CN", Zone = "Asia/Shanghai", Invalid = ["mobile", "home", "work", "other"] };
        var account = ScenarioWorld.Account(spec, "A1");
        var colleagues = account.Parties.Single(p => p.PartyId == "colleague").ContactPoints;
        var sibling = new Party("sibling", PartyRole.Friend, "Sibling", colleagues);
        var otherDebt = account with { AccountId = "A2", Parties = siblingOnAnotherDebt ? [sibling] : [] };
        account = siblingOnAnotherDebt ? account : account with { Parties = [.. account.Parties, sibling] };
        var candidate = new ContactCandidate(account, "C1", CollectorKind.Human, Channel.VoiceCall, ContactPurpose.LocateBorrower,
            ScenarioWorld.Destination(account, "friend", []), new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.FromHours(8)), BorrowerAccounts: [account, otherDebt]);

        var result = Default.Evaluate(candidate, []);

        Assert.True(Default.CountsAcrossDebts(account, DestinationClass.UnrelatedParty));
        Assert.Equal(allowed, result.Allowed);
        Assert.Equal(allowed ? [] : ["CN.borrower-supplied-contacts"], result.Hits.Where(h => !h.Shadow).Select(h => h.RuleId));
    }

    [Fact]
    public void OnlyChinasRules_CountAcrossTheBorrowersDebts()
    {
        Assert.False(Default.CountsAcrossDebts(Candidate("US-NY", Monday10).Account, DestinationClass.UnrelatedParty));
    }

    [Fact]
    public void ChannelUnknownToThisBuild_DoesNotThrow()
    {
        var candidate = Candidate("US-NY", Monday10) with { Channel = (Channel)99 };
        var history = Calls(candidate, Monday10.AddDays(-1), 3, TimeSpan.FromHours(1)).Select(a => a with { Channel = (Channel)99 }).ToList();

        var result = Default.Evaluate(candidate, history);

        Assert.Equal("v7", result.PolicyVersion);
    }
}
