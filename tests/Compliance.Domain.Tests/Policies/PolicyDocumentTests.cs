using Compliance.Domain.Policies;
using Compliance.Domain.Tests.Rules;

namespace Compliance.Domain.Tests.Policies;

/// <summary>Lender policy documents: the invalid ones in Policies/invalid are rejected whole, with every problem's path.</summary>
public sealed class PolicyDocumentTests
{
    private static readonly DateTimeOffset Effective = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Policies");

    public static TheoryData<string> InvalidDocuments() =>
        new(Directory.GetFiles(Path.Combine(Folder, "invalid"), "*.yaml").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!);

    [Theory]
    [MemberData(nameof(InvalidDocuments))]
    public void InvalidPolicy_IsRejected_WithEveryProblemsPathAndReason(string name)
    {
        var file = ScenarioFile.Parse<InvalidPolicyFile>(File.ReadAllText(Path.Combine(Folder, "invalid", name + ".yaml")));

        var result = PolicyCompiler.Compile(file.Policy, "bad-1", Effective, ProfileCatalog.BuiltIn);

        Assert.False(result.Ok);
        Assert.Null(result.Policy);
        var actual = string.Join("\n", result.Problems.Select(p => $"{p.Path}: {p.Message}"));
        Assert.Equal(file.Problems.Count, result.Problems.Count);
        foreach (var expected in file.Problems)
        {
            Assert.True(result.Problems.Any(p => p.Path == expected.Path && p.Message.Contains(expected.Message, StringComparison.Ordinal)),
                $"expected a problem at {expected.Path}: {expected.Message}\nactual problems:\n{actual}");
        }
    }

    [Fact]
    public void TighteningAndCorrectingReprintedValues_IsAccepted()
    {
        var document = File.ReadAllText(Path.Combine(Folder, "valid", "tighten-and-correct.yaml"));

        var result = PolicyCompiler.Compile(document, "good-1", Effective, ProfileCatalog.BuiltIn);

        Assert.True(result.Ok, string.Join("; ", result.Problems.Select(p => $"{p.Path}: {p.Message}")));
        Assert.Equal("good-1", result.Policy!.Version);
        Assert.Equal(Effective, result.Policy.EffectiveAt);
        Assert.Equal(2, result.Policy.BlockedDates.Count);
        Assert.True(result.Policy.KeepMessageBodies);
        Assert.Equal(new Compliance.Domain.Events.RiskWeights(90, 35, 15, 5, 0.5), result.Policy.Scoring);
        var blast = Assert.Single(result.Policy.BlastLimitsFor(ScenarioWorld.Account(new ScenarioAccount { Country = "US", Region = "NY" }, "A1")));
        Assert.Equal(("BASE.address-book-blast", 2, TimeSpan.FromHours(48)), (blast.RuleId, blast.MaxThirdParties, blast.Window));
    }

    [Fact]
    public void DefaultPolicy_KeepsNoMessageBodies_AndLimitsThirdPartiesToThreeADay()
    {
        var policy = PolicyCompiler.Compile(null, "default", Effective, ProfileCatalog.BuiltIn).Policy!;

        var blast = Assert.Single(policy.BlastLimitsFor(ScenarioWorld.Account(new ScenarioAccount { Country = "CN", Zone = "Asia/Shanghai" }, "A1")));

        Assert.False(policy.KeepMessageBodies);
        Assert.Equal(ProfileCatalog.BuiltIn.Scoring, policy.Scoring);
        Assert.Equal((3, TimeSpan.FromHours(24), Compliance.Domain.Rules.Severity.Critical, false), (blast.MaxThirdParties, blast.Window, blast.Severity, blast.Shadow));
        Assert.False(string.IsNullOrWhiteSpace(blast.Citation));
    }

    [Fact]
    public void TheBaseline_AppliesWithLocationSelectionOff()
    {
        var policy = PolicyCompiler.Compile("profiles: { by_location: false, include: [IE] }", "by-hand", Effective, ProfileCatalog.BuiltIn).Policy!;

        var account = ScenarioWorld.Account(new ScenarioAccount { Country = "IN", Zone = "Asia/Kolkata" }, "A1");
        Assert.Equal(["BASE", "IE"], policy.ProfilesFor(account));
        Assert.Single(policy.BlastLimitsFor(account));
    }

    [Fact]
    public void StoredDocumentThatExcludedTheBaseline_CompilesWithTheBaseline_AndSaysSo()
    {
        const string document = "profiles: { exclude: [BASE, US-MA] }\nevidence: { keep_message_bodies: true }";

        var fresh = PolicyCompiler.Compile(document, "1", Effective, ProfileCatalog.BuiltIn);
        var stored = PolicyCompiler.CompileStored(document, "1", Effective, ProfileCatalog.BuiltIn);

        Assert.False(fresh.Ok);
        Assert.Equal("profiles.exclude[0]", Assert.Single(fresh.Problems).Path);
        Assert.True(stored.Ok);
        Assert.Equal("profiles.exclude[0]", Assert.Single(stored.Overruled!).Path);
        Assert.True(stored.Policy!.KeepMessageBodies);
        var account = ScenarioWorld.Account(new ScenarioAccount { Country = "US", Region = "US-MA", Zone = "America/New_York" }, "A1");
        Assert.Equal(["BASE", "US-REGF"], stored.Policy.ProfilesFor(account));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   \n")]
    public void EmptyDocument_IsTheDefaultPolicy(string? document)
    {
        var result = PolicyCompiler.Compile(document, "default", Effective, ProfileCatalog.BuiltIn);

        Assert.True(result.Ok);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void Lookback_CoversTheLongestWindowPlusADay()
    {
        var policy = PolicyCompiler.Compile(null, "default", Effective, ProfileCatalog.BuiltIn).Policy!;

        // US-MA counts calls to other numbers over 30 calendar days: 30 local days back from the start of the day,
        // across zones up to 26 hours apart (32 days), plus a day.
        Assert.Equal(TimeSpan.FromDays(33), policy.Lookback);
    }

    [Fact]
    public void LookbackFor_AnAccount_IsTheLongestWindowOfTheRulesThatApplyToIt()
    {
        var policy = PolicyCompiler.Compile(null, "default", Effective, ProfileCatalog.BuiltIn).Policy!;
        var massachusetts = ScenarioWorld.Account(new ScenarioAccount { Country = "US", Region = "US-MA", Zone = "America/New_York" }, "A1");
        var newYork = ScenarioWorld.Account(new ScenarioAccount { Country = "US", Region = "US-NY", Zone = "America/New_York" }, "A2");
        var china = ScenarioWorld.Account(new ScenarioAccount { Country = "CN", Zone = "Asia/Shanghai" }, "A3");

        Assert.Equal(policy.Lookback, policy.LookbackFor(massachusetts));
        // Regulation F's 7 calendar days, 2 more across zones, plus a day: not Massachusetts' 33.
        Assert.Equal(TimeSpan.FromDays(10), policy.LookbackFor(newYork));
        Assert.True(policy.LookbackFor(china) < TimeSpan.FromDays(10), $"{policy.LookbackFor(china)}");
    }

    public sealed class InvalidPolicyFile
    {
        public string Policy { get; set; } = "";
        public List<ExpectedProblem> Problems { get; set; } = [];
    }

    public sealed class ExpectedProblem
    {
        public string Path { get; set; } = "";
        public string Message { get; set; } = "";
    }
}
