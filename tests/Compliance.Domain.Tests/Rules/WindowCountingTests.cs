using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Domain.Tests.Events;

namespace Compliance.Domain.Tests.Rules;

/// <summary>
/// The counting rules read the instants the window state keeps per key (<see cref="ICountedAttempts"/>) instead of the
/// attempts: over many made-up histories of one borrower with two debts (calls, texts and e-mails with every outcome, to
/// the consumer's numbers, a spouse and strangers, before and after the instant) they decide exactly as over the plain
/// list, also after the window changed under them (arrivals out of order, outcomes set, reservations moved, pruning);
/// and with a consumer's consent to calls or an attorney on the debt, where the caps read the attempts.
/// </summary>
public sealed class WindowCountingTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 17, 16, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset PolicyEffective = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed record Target(DestinationClass Class, string Hash, ContactPointUse Use, string PartyId);

    private static readonly Target[] Targets =
    [
        new(DestinationClass.Own, "h-mobile", ContactPointUse.Mobile, ""),
        new(DestinationClass.Own, "h-mobile", ContactPointUse.Mobile, ""),
        new(DestinationClass.Own, "h-home", ContactPointUse.Home, ""),
        new(DestinationClass.Own, "h-work", ContactPointUse.Work, ""),
        new(DestinationClass.RelatedParty, "h-spouse", ContactPointUse.Mobile, "p-spouse"),
        new(DestinationClass.UnrelatedParty, "h-friend", ContactPointUse.Mobile, "p-friend"),
        new(DestinationClass.Unknown, "h-stranger", ContactPointUse.Unspecified, ""),
        new(DestinationClass.RelatedParty, "h-attorney", ContactPointUse.Work, "p-attorney"),
    ];

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var place in new[] { "US-TX", "US-MA", "US-WA", "CN-GD" })
        {
            foreach (var policy in new[] { "default", "rolling" })
            {
                for (var seed = 1; seed <= 6; seed++)
                {
                    data.Add(place, policy, seed);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomHistories_OverTheWindowsCounts_GiveTheSameDecisionAsThePlainList(string place, string policyName, int seed)
    {
        // Arrange
        var compiled = PolicyCompiler.Compile(null, "test-1", PolicyEffective, policyName == "rolling" ? Rolling.Value : ProfileCatalog.BuiltIn);
        Assert.True(compiled.Ok, string.Join("; ", compiled.Problems.Select(p => $"{p.Path}: {p.Message}")));
        var policy = compiled.Policy!;
        var random = new Random(seed);
        var (a1, a2) = Accounts(place, seed);
        var dense = seed % 2 == 0;
        var window = new AttemptWindow<WindowRow>();
        var count = dense ? 300 : 60;
        var span = TimeSpan.FromDays(dense ? 3 : 12);
        for (var i = 0; i < count; i++)
        {
            window.Add(new WindowRow($"r{i}", "", Attempt(random, random.Next(2) == 0 ? a1 : a2, At - span + (span + TimeSpan.FromDays(1)) * random.NextDouble())));
        }

        var view = new AttemptWindow<WindowRow>.View();
        for (var round = 0; round < 4; round++)
        {
            for (var probe = 0; probe < 6; probe++)
            {
                // Act and assert: the event's own view (before it, without a reservation), and the gate's (everything).
                var when = At - TimeSpan.FromHours(random.Next(0, 72));
                var excluded = window.Count > 0 ? window[random.Next(window.Count)].AttemptId : null;
                var candidate = Candidate(random, a1, a2, when);
                AssertSame(policy, candidate, window.Before(when, excluded, view));
                AssertSame(policy, candidate, window.Before(DateTimeOffset.MaxValue, null, view));
            }

            // The window changes under the counts it keeps.
            for (var i = 0; i < 40; i++)
            {
                var row = window[random.Next(window.Count)];
                var moved = random.Next(4) == 0 ? row.Attempt.At + TimeSpan.FromMinutes(random.Next(-600, 600)) : row.Attempt.At;
                var changed = Attempt(random, row.Attempt.AccountId == a1.AccountId ? a1 : a2, moved);
                window.Upsert(row with { Attempt = changed });
                window.Add(new WindowRow($"n{round}-{i}", "", Attempt(random, random.Next(2) == 0 ? a1 : a2, At - span + span * random.NextDouble())));
            }

            window.Prune(At - span + TimeSpan.FromHours(6 * (round + 1)));
        }
    }

    /// <summary>The built-in profiles with every cap counted over rolling spans of N x 24 hours instead of calendar days.</summary>
    private static readonly Lazy<ProfileCatalog> Rolling = new(() =>
    {
        var assembly = typeof(ProfileCatalog).Assembly;
        var documents = new List<(string, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Contains(".Policies.Profiles.", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            documents.Add((name, reader.ReadToEnd().Replace("window: calendar_days", "window: rolling", StringComparison.Ordinal)));
        }

        Assert.Contains(documents, d => d.Item2.Contains("window: rolling", StringComparison.Ordinal));
        return ProfileCatalog.Load(documents);
    });

    private static void AssertSame(CompiledPolicy policy, ContactCandidate candidate, IReadOnlyList<Attempt> ordered)
    {
        Assert.IsAssignableFrom<ICountedAttempts>(ordered);
        // Any order: the rules read such a list whole.
        List<Attempt> plain = [.. ordered.Reverse()];
        var expected = policy.Evaluate(candidate, plain);
        var actual = policy.Evaluate(candidate, ordered);
        Assert.Equal(expected.Allowed, actual.Allowed);
        Assert.Equal(expected.NextAllowedAt, actual.NextAllowedAt);
        Assert.Equal(expected.Hits.Select(h => (h.RuleId, h.Message, h.NextAllowedAt)), actual.Hits.Select(h => (h.RuleId, h.Message, h.NextAllowedAt)));
        Assert.Equal(
            policy.ValidationNoticeTiming(candidate.Account, plain, candidate.At, false, candidate.BorrowerAccounts).Select(h => h.Message),
            policy.ValidationNoticeTiming(candidate.Account, ordered, candidate.At, false, candidate.BorrowerAccounts).Select(h => h.Message));
    }

    private static Attempt Attempt(Random random, Account account, DateTimeOffset at)
    {
        var target = Targets[random.Next(Targets.Length)];
        Channel[] channels = [Channel.VoiceCall, Channel.VoiceCall, Channel.VoiceCall, Channel.Sms, Channel.Email];
        var outcome = (AttemptOutcome)random.Next(0, 11);
        return new Attempt(at, account.AccountId, "C1", channels[random.Next(channels.Length)], target.Hash, target.Class, target.PartyId,
            target.Use, ContactPurpose.CollectDebt, outcome);
    }

    private static ContactCandidate Candidate(Random random, Account a1, Account a2, DateTimeOffset at)
    {
        var account = random.Next(3) == 0 ? a2 : a1;
        var target = Targets[random.Next(5)];
        var point = account.AllContactPoints().First(p => p.Point.ValueHash == target.Hash);
        var destination = new ResolvedDestination(target.Class, target.Hash, point.Point, point.Party, point.Point.TimeZones);
        var channel = random.Next(4) == 0 ? Channel.Sms : Channel.VoiceCall;
        return new ContactCandidate(account, "C1", CollectorKind.Human, channel, ContactPurpose.CollectDebt, destination, at, BorrowerAccounts: [a1, a2]);
    }

    private static (Account A1, Account A2) Accounts(string place, int seed)
    {
        var location = place switch
        {
            "US-MA" => new Location("US", "US-MA", "02108", "America/New_York"),
            "US-WA" => new Location("US", "US-WA", "98101", "America/Los_Angeles"),
            "CN-GD" => new Location("CN", "CN-GD", "510000", "Asia/Shanghai"),
            _ => new Location("US", "US-TX", "75001", "America/Chicago"),
        };
        ContactPoint Point(string id, ContactPointUse use, string hash) => new(id, ContactPointKind.Phone, use, hash, "***", location.CountryCode, false, [location.TimeZone]);
        // Some debts have the consumer's consent to calls from two days ago (ended by the next conversation), some an attorney.
        Flag[] consent = [new Flag("consent-1", FlagType.ConsentToContact, At.AddDays(-2), null, Channel.Unspecified, "", "", "", "agent", null)];
        Party attorney = new("p-attorney", PartyRole.Attorney, "Attorney", [Point("attorney", ContactPointUse.Work, "h-attorney")]);
        Account Of(string id, bool other) => new("L1", id, "B1", "Jane Doe", location,
            [Point("mobile", ContactPointUse.Mobile, "h-mobile"), Point("home", ContactPointUse.Home, "h-home"), Point("work", ContactPointUse.Work, "h-work")],
            [new Party("p-spouse", PartyRole.Spouse, "Spouse", [Point("spouse", ContactPointUse.Mobile, "h-spouse")]), .. seed % 3 == 1 && !other ? [attorney] : Array.Empty<Party>()],
            seed % 3 == 0 && !other ? consent : [], [], [], At.AddDays(-90), At.AddDays(-90), 1);
        return (Of("A1", false), Of("A2", true));
    }
}
