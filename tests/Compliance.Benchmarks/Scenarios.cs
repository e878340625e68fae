using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Benchmarks;

/// <summary>
/// Accounts, histories and candidates the benchmarks share. Instants are pinned so every run evaluates the same
/// decisions; each benchmark checks in its setup that the decision is the one it claims to measure.
/// </summary>
internal static class Scenarios
{
    public const string Lender = "bench";
    public const string Collector = "collector-1";

    /// <summary>Tuesday 17 November 2026, 10:00 in Boston.</summary>
    public static readonly DateTimeOffset UsMorning = new(2026, 11, 17, 15, 0, 0, TimeSpan.Zero);

    /// <summary>Tuesday 17 November 2026, 20:45 in Boston: late enough that a denied call's next slot is tomorrow.</summary>
    public static readonly DateTimeOffset UsEvening = new(2026, 11, 18, 1, 45, 0, TimeSpan.Zero);

    /// <summary>Tuesday 17 November 2026, 11:00 in Shanghai.</summary>
    public static readonly DateTimeOffset CnMorning = new(2026, 11, 17, 3, 0, 0, TimeSpan.Zero);

    public static CompiledPolicy DefaultPolicy() =>
        PolicyCompiler.Compile(null, "bench-1", DateTimeOffset.UnixEpoch, ProfileCatalog.BuiltIn).Policy
        ?? throw new InvalidOperationException("The default policy does not compile.");

    public static Account Account(string accountId, string borrowerId, Location location, string mobileHash) => new(
        Lender, accountId, borrowerId, "Jane Doe", location,
        [new ContactPoint("mobile", ContactPointKind.Phone, ContactPointUse.Mobile, mobileHash, "+1 617*****67", location.CountryCode, false, [location.TimeZone])],
        [], [], [], [], UsMorning.AddDays(-90), UsMorning.AddDays(-90), 1);

    public static Location Massachusetts => new("US", "US-MA", "02108", "America/New_York");

    public static Location Guangdong => new("CN", "CN-GD", "510000", "Asia/Shanghai");

    /// <summary>A call to the account's own mobile at <paramref name="at"/>.</summary>
    public static ContactCandidate CallToMobile(Account account, DateTimeOffset at)
    {
        var point = account.ContactPoints[0];
        var destination = new ResolvedDestination(DestinationClass.Own, point.ValueHash, point, null, point.TimeZones);
        return new ContactCandidate(account, Collector, CollectorKind.Human, Channel.VoiceCall, ContactPurpose.CollectDebt, destination, at);
    }

    /// <summary>
    /// 50 attempts over the 30 days before <paramref name="at"/> about two debts of one borrower: calls, texts and
    /// e-mails with mixed outcomes. The last 7 days hold one unanswered call and two e-mails about
    /// <paramref name="quietDebt"/>, and a run of calls (one a conversation) about <paramref name="busyDebt"/>, so a
    /// call about the quiet debt is allowed and one about the busy debt is denied until its window frees up.
    /// </summary>
    public static List<Attempt> History(DateTimeOffset at, string quietDebt, string busyDebt, string mobileHash)
    {
        AttemptOutcome[] callOutcomes = [AttemptOutcome.NoAnswer, AttemptOutcome.Voicemail, AttemptOutcome.Conversation, AttemptOutcome.Rejected, AttemptOutcome.NotConnected, AttemptOutcome.AnsweredNoConversation];
        var history = new List<Attempt>(50);
        // 38 older attempts, one every ~14 hours between 30 and 8 days ago.
        for (var i = 0; i < 38; i++)
        {
            var when = at - TimeSpan.FromDays(30) + TimeSpan.FromHours(14 * i);
            var debt = i % 2 == 0 ? quietDebt : busyDebt;
            var (channel, outcome) = (i % 5) switch
            {
                3 => (Channel.Sms, AttemptOutcome.Delivered),
                4 => (Channel.Email, AttemptOutcome.Delivered),
                _ => (Channel.VoiceCall, callOutcomes[i % callOutcomes.Length]),
            };
            history.Add(Attempt(when, debt, channel, outcome, mobileHash));
        }

        // 12 in the last 7 days.
        history.Add(Attempt(at.AddDays(-6), quietDebt, Channel.VoiceCall, AttemptOutcome.NoAnswer, mobileHash));
        history.Add(Attempt(at.AddDays(-5), quietDebt, Channel.Email, AttemptOutcome.Delivered, mobileHash));
        history.Add(Attempt(at.AddDays(-2), quietDebt, Channel.Email, AttemptOutcome.Delivered, mobileHash));
        AttemptOutcome[] busyOutcomes =
        [
            AttemptOutcome.NoAnswer, AttemptOutcome.Voicemail, AttemptOutcome.NoAnswer, AttemptOutcome.Rejected, AttemptOutcome.Conversation,
            AttemptOutcome.NotConnected, AttemptOutcome.NoAnswer, AttemptOutcome.Voicemail, AttemptOutcome.AnsweredNoConversation,
        ];
        for (var i = 0; i < busyOutcomes.Length; i++)
        {
            history.Add(Attempt(at.AddDays(-6.5).AddHours(17 * i), busyDebt, Channel.VoiceCall, busyOutcomes[i], mobileHash));
        }

        return history;
    }

    private static Attempt Attempt(DateTimeOffset at, string accountId, Channel channel, AttemptOutcome outcome, string mobileHash) =>
        new(at, accountId, Collector, channel, mobileHash, DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, outcome);

    /// <summary>Fails the setup when a scenario does not produce the decision its benchmark claims to measure.</summary>
    public static void Expect(GateResult result, bool allowed, bool nextAllowed, string what)
    {
        if (result.Allowed != allowed || (result.NextAllowedAt is not null) != nextAllowed)
        {
            var rules = string.Join(", ", result.Hits.Select(h => h.RuleId));
            throw new InvalidOperationException(
                $"Scenario '{what}' expected allowed={allowed}, next-allowed={nextAllowed}; got allowed={result.Allowed}, next={result.NextAllowedAt}, rules [{rules}].");
        }
    }
}
