using System.Collections.Concurrent;
using Compliance.Domain.Policies;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Tests.Rules;

/// <summary>Runs every scenario of every file in Scenarios/ as its own test case.</summary>
public sealed class ScenarioTests(ITestOutputHelper output)
{
    private static readonly ConcurrentDictionary<string, ScenarioFile> Files = new();
    private static readonly DateTimeOffset PolicyEffective = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, string> All()
    {
        var data = new TheoryData<string, string>();
        foreach (var path in Directory.GetFiles(ScenarioFile.Directory, "*.yaml").Order(StringComparer.Ordinal))
        {
            var file = Path.GetFileNameWithoutExtension(path);
            foreach (var scenario in Files.GetOrAdd(file, ScenarioFile.Load).Scenarios)
            {
                data.Add(file, scenario.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Scenario_GivesTheExpectedDecision(string file, string scenario)
    {
        // Arrange
        var scenarios = Files.GetOrAdd(file, ScenarioFile.Load);
        var s = scenarios.Scenarios.Single(x => x.Name == scenario);
        var compiled = PolicyCompiler.Compile(s.Policy, "test-1", PolicyEffective, ProfileCatalog.BuiltIn);
        Assert.True(compiled.Ok, string.Join("; ", compiled.Problems.Select(p => $"{p.Path}: {p.Message}")));
        var spec = ScenarioWorld.Merge(scenarios.Defaults, s.Account);
        var account = ScenarioWorld.Account(spec, s.Contact.Account);
        var history = ScenarioWorld.History(account, s.History);
        var candidate = new ContactCandidate(
            account,
            "C1",
            ScenarioWorld.Enum<Registry.CollectorKind>(s.Contact.Collector),
            ScenarioWorld.Enum<Registry.Channel>(s.Contact.Channel),
            ScenarioWorld.Enum<ContactPurpose>(s.Contact.Purpose),
            ScenarioWorld.Destination(account, s.Contact.To, s.Contact.Zones),
            ScenarioWorld.Instant(s.Contact.At),
            BorrowerAccounts: ScenarioWorld.BorrowerAccounts(spec, account));

        // Act
        var result = compiled.Policy!.Evaluate(candidate, history);

        // Assert
        var explain = string.Join("\n", result.Hits.Select(h => $"{h.RuleId} [{h.Citation}] shadow={h.Shadow} next={h.NextAllowedAt:O}: {h.Message}"));
        output.WriteLine($"allowed={result.Allowed} next={result.NextAllowedAt:O}\n{explain}");
        Assert.True(s.Expect.Allow == result.Allowed, $"expected allow={s.Expect.Allow}, got {result.Allowed}; profiles {string.Join(",", result.Profiles)}\n{explain}");
        Assert.Equal(s.Expect.DeniedBy.Order(StringComparer.Ordinal), result.Hits.Where(h => !h.Shadow).Select(h => h.RuleId).Order(StringComparer.Ordinal));
        Assert.Equal(s.Expect.Shadow.Order(StringComparer.Ordinal), result.Hits.Where(h => h.Shadow).Select(h => h.RuleId).Order(StringComparer.Ordinal));
        Assert.All(result.Hits, h => Assert.False(string.IsNullOrWhiteSpace(h.Citation)));
        if (s.Expect.Timing is { } timing)
        {
            var found = compiled.Policy.ValidationNoticeTiming(account, history, candidate.At, s.Contact.Notice, candidate.BorrowerAccounts);
            output.WriteLine(string.Join("\n", found.Select(h => $"timing: {h.RuleId}: {h.Message}")));
            Assert.Equal(timing.Order(StringComparer.Ordinal), found.Select(h => h.RuleId).Order(StringComparer.Ordinal));
        }

        if (s.Expect.HoursWindow is { } window)
        {
            Assert.NotNull(result.Hours);
            Assert.Equal(window, result.Hours!.EffectiveLocal.Length == 0 ? "none" : result.Hours.EffectiveLocal);
        }

        if (s.Expect.Zones is { } zones)
        {
            Assert.Equal(zones, result.Hours?.Zones.Select(z => z.Zone) ?? []);
        }

        if (s.Expect.NextAllowedAt is { } next)
        {
            Assert.Equal(ScenarioWorld.Instant(next), result.NextAllowedAt);
            Assert.True(compiled.Policy.Evaluate(candidate with { At = result.NextAllowedAt!.Value }, history).Allowed,
                "the contact must be allowed at the next allowed instant");
            Assert.False(compiled.Policy.Evaluate(candidate with { At = result.NextAllowedAt.Value.AddMinutes(-1) }, history).Allowed,
                "the next allowed instant must be the earliest one");
        }
        else
        {
            // A deny without an expected next time is a deny without end (flag, third party), or an allow.
            Assert.Null(result.NextAllowedAt);
        }
    }

    /// <summary>
    /// The same scenario judged over the monitor's window state (<see cref="Compliance.Domain.Events.AttemptWindow{TRow}"/>: attempts
    /// added newest first, kept in time order, read by binary search) gives exactly the decision the plain history gives:
    /// the same rules, messages and next allowed instants, and the same validation-notice findings.
    /// </summary>
    [Theory]
    [MemberData(nameof(All))]
    public void Scenario_OverTheWindowState_GivesTheSameDecision(string file, string scenario)
    {
        // Arrange
        var scenarios = Files.GetOrAdd(file, ScenarioFile.Load);
        var s = scenarios.Scenarios.Single(x => x.Name == scenario);
        var policy = PolicyCompiler.Compile(s.Policy, "test-1", PolicyEffective, ProfileCatalog.BuiltIn).Policy!;
        var spec = ScenarioWorld.Merge(scenarios.Defaults, s.Account);
        var account = ScenarioWorld.Account(spec, s.Contact.Account);
        var history = ScenarioWorld.History(account, s.History);
        var window = new Compliance.Domain.Events.AttemptWindow<WindowRow>();
        for (var i = history.Count - 1; i >= 0; i--)
        {
            window.Add(new WindowRow($"a{i}", "", history[i]));
        }

        var ordered = window.Before(DateTimeOffset.MaxValue, null, new Compliance.Domain.Events.AttemptWindow<WindowRow>.View());
        var candidate = new ContactCandidate(account, "C1", ScenarioWorld.Enum<Registry.CollectorKind>(s.Contact.Collector),
            ScenarioWorld.Enum<Registry.Channel>(s.Contact.Channel), ScenarioWorld.Enum<ContactPurpose>(s.Contact.Purpose),
            ScenarioWorld.Destination(account, s.Contact.To, s.Contact.Zones), ScenarioWorld.Instant(s.Contact.At),
            BorrowerAccounts: ScenarioWorld.BorrowerAccounts(spec, account));

        // Act
        var plain = policy.Evaluate(candidate, history);
        var windowed = policy.Evaluate(candidate, ordered);

        // Assert
        Assert.Equal(history.Count, ordered.Count);
        Assert.Equal(plain.Allowed, windowed.Allowed);
        Assert.Equal(plain.NextAllowedAt, windowed.NextAllowedAt);
        Assert.Equal(plain.Hits.Select(h => (h.RuleId, h.Message, h.NextAllowedAt)), windowed.Hits.Select(h => (h.RuleId, h.Message, h.NextAllowedAt)));
        Assert.Equal(
            policy.ValidationNoticeTiming(account, history, candidate.At, s.Contact.Notice, candidate.BorrowerAccounts).Select(h => h.Message),
            policy.ValidationNoticeTiming(account, ordered, candidate.At, s.Contact.Notice, candidate.BorrowerAccounts).Select(h => h.Message));
    }

    private readonly record struct WindowRow(string AttemptId, string CallId, Attempt Attempt) : Compliance.Domain.Events.IAttemptRow;
}
