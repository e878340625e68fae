using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Tests.Policies;

/// <summary>The built-in profiles load from the embedded YAML and every rule can be quoted.</summary>
public sealed class ProfileCatalogTests
{
    private static readonly string[] Shipped = ["US-REGF", "US-MA", "US-WA", "US-NYC", "US-CA", "CN", "IN-RBI", "IE", "BASE"];

    public static TheoryData<string> BuiltInProfileIds() => new(Shipped);

    [Theory]
    [MemberData(nameof(BuiltInProfileIds))]
    public void BuiltInProfile_Loads_WithRulesThatAllHaveACitation(string id)
    {
        var profile = ProfileCatalog.BuiltIn.Find(id);

        Assert.NotNull(profile);
        Assert.NotEmpty(profile.AppliesTo);
        Assert.False(string.IsNullOrWhiteSpace(profile.Title));
        Assert.False(string.IsNullOrWhiteSpace(profile.Version));
        Assert.NotEmpty(profile.Rules);
        Assert.All(profile.Rules, rule =>
        {
            Assert.StartsWith(id + ".", rule.Id, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(rule.Citation), $"{rule.Id} has no citation");
            Assert.False(string.IsNullOrWhiteSpace(rule.Description), $"{rule.Id} has no description");
            Assert.All(rule.Correctable, name => Assert.True(rule.Parameters.ContainsKey(name), $"{rule.Id}: correctable {name} is not a parameter"));
        });
    }

    [Fact]
    public void BuiltInCatalog_HasExactlyTheShippedProfiles()
    {
        Assert.Equal(
            Shipped.Order(StringComparer.Ordinal),
            ProfileCatalog.BuiltIn.Profiles.Select(p => p.Id).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("US-REGF.call-frequency", "12 CFR 1006.14(b)(2)(i)(A)", "max_attempts", "7")]
    [InlineData("US-REGF.wait-after-conversation", "12 CFR 1006.14(b)(2)(i)(B)", "days", "7")]
    [InlineData("US-REGF.hours", "12 CFR 1006.6(b)(1)(i)", "start", "08:00")]
    [InlineData("US-MA.calls-other-numbers", "940 CMR 7.04(1)(f)", "window_days", "30")]
    [InlineData("US-WA.work-weekly", "RCW 19.16.250", "max_attempts", "1")]
    [InlineData("CN.effective-calls", "GB/T 45251-2025", "max_attempts", "3")]
    [InlineData("CN.unanswered-attempts", "CBA guideline 2026", "max_attempts", "6")]
    [InlineData("CN.borrower-supplied-contacts", "National-standard practice guide 2019; necessary-data rules 2021", "max_parties", "2")]
    [InlineData("IN-RBI.hours", "India (RBI, 2022)", "end", "19:00")]
    [InlineData("IE.hours", "Consumer Credit Act 1995 s.46", "weekdays", "mon,tue,wed,thu,fri,sat")]
    [InlineData("US-REGF.call-frequency", "12 CFR 1006.14(b)(2)(i)(A)", "window", "calendar_days")]
    [InlineData("US-MA.calls-residence-mobile", "940 CMR 7.04(1)(f)", "window", "calendar_days")]
    [InlineData("US-WA.weekly-communications", "RCW 19.16.250", "window", "calendar_days")]
    [InlineData("US-WA.home-hours", "RCW 19.16.250(13)", "start", "07:30")]
    [InlineData("US-NYC.attempts-weekly", "6 RCNY 5-77 (amended, eff. 1 April 2025) (reprint)", "max_attempts", "3")]
    [InlineData("US-CA.call-frequency", "Cal. Civ. Code 1788.17 (15 U.S.C. 1692d(5); 12 CFR 1006.14(b)(2)(i)(A))", "max_attempts", "7")]
    [InlineData("CN.third-parties", "GB/T 45251-2025; CBA guideline 2026; credit-card rules (CBRC 2011, art. 68)", "require_lost", "true")]
    [InlineData("BASE.third-parties", "Lender policy: no third-party collection, no unknown numbers (after 12 CFR 1006.6(d); GB/T 45251-2025)", "require_lost", "false")]
    [InlineData("US-REGF.third-parties", "12 CFR 1006.6(d)", "require_lost", "false")]
    public void BuiltInRule_CarriesTheCitationAndValueOfItsSource(string ruleId, string citation, string parameter, string value)
    {
        var rule = ProfileCatalog.BuiltIn.Profiles.SelectMany(p => p.Rules).Single(r => r.Id == ruleId);

        Assert.Equal(citation, rule.Citation);
        Assert.Equal(value, rule.Parameters[parameter]);
    }

    [Theory]
    [InlineData("US-WA.weekly-communications", "max_attempts")]
    [InlineData("CN.effective-calls", "max_attempts")]
    [InlineData("CN.unanswered-attempts", "max_attempts")]
    [InlineData("CN.hours", "end")]
    [InlineData("CN.borrower-supplied-contacts", "max_parties")]
    [InlineData("US-NYC.attempts-weekly", "max_attempts")]
    [InlineData("US-NYC.electronic-consent", "channels")]
    public void ReprintedValues_AreCorrectable(string ruleId, string parameter)
    {
        var rule = ProfileCatalog.BuiltIn.Profiles.SelectMany(p => p.Rules).Single(r => r.Id == ruleId);

        Assert.Contains(parameter, rule.Correctable);
    }

    [Fact]
    public void ValuesFromTheRuleText_AreNotCorrectable()
    {
        var usRules = ProfileCatalog.BuiltIn.Find("US-REGF")!.Rules.Concat(ProfileCatalog.BuiltIn.Find("US-MA")!.Rules);

        Assert.All(usRules, rule => Assert.Empty(rule.Correctable));
    }

    [Fact]
    public void ProfileWithoutCitationOrWithUnknownKind_IsRejected()
    {
        const string yaml = """
            id: XX
            title: Test
            applies_to: [XX]
            version: "1"
            rules:
              - id: XX.cap
                kind: rolling-window-cap
                parameters: { max_attempts: 2, window_days: 7, channels: [voice_call] }
              - id: XX.other
                kind: no-such-kind
                citation: "Nowhere"
            """;

        var error = Assert.Throws<InvalidDataException>(() => ProfileCatalog.Load([("xx.yaml", yaml)]));

        Assert.Contains("xx.yaml: rules[0].citation: every rule needs a citation", error.Message, StringComparison.Ordinal);
        Assert.Contains("xx.yaml: rules[1].kind: unknown rule kind 'no-such-kind'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnlyTheBaseline_IsRequired()
    {
        Assert.Equal(["BASE"], ProfileCatalog.BuiltIn.Profiles.Where(p => p.Required).Select(p => p.Id));
    }

    [Fact]
    public void ProfileWhoseRequiredIsNotABoolean_IsRejected()
    {
        var error = LoadError("required: always");

        Assert.Contains("xx.yaml: required: expected true or false, got 'always'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("US-REGF", 1096, "12 CFR 1006.100")]
    [InlineData("CN", 731, "CBRC 2011 credit-card rules, art. 68")]
    public void RecordKeepingPeriods_AreProfileData_WithTheirSource(string id, int days, string citation)
    {
        Assert.Equal(new RecordKeeping(days, citation), ProfileCatalog.BuiltIn.Find(id)!.Records);
    }

    [Fact]
    public void TheLongestRecordKeepingPeriod_IsRegulationFs()
    {
        Assert.Equal("US-REGF", ProfileCatalog.BuiltIn.KeepsRecordsLongest?.Id);
    }

    [Fact]
    public void RecordKeepingWithoutCitationOrDays_IsRejected()
    {
        var error = LoadError("records: { keep_days: 0 }");

        Assert.Contains("xx.yaml: records.keep_days: expected a whole number of days, at least 1", error, StringComparison.Ordinal);
        Assert.Contains("xx.yaml: records.citation: a record-keeping period needs a citation", error, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordKeepingWithoutDays_IsRejected_Once()
    {
        var error = LoadError("records: { citation: \"Nowhere\" }");

        Assert.Equal("Invalid profile documents: xx.yaml: records.keep_days: how long records are kept is required", error);
    }

    [Fact]
    public void RiskWeights_AreTheBaselinesData()
    {
        var weights = new RiskWeights(70, 35, 15, 5, 0.25);

        Assert.Equal(weights, ProfileCatalog.BuiltIn.Scoring);
        Assert.Equal(["BASE"], ProfileCatalog.BuiltIn.Profiles.Where(p => p.Scoring is not null).Select(p => p.Id));
    }

    [Fact]
    public void RiskWeights_AddUp_AShadowRulesShare_AndStopAt100()
    {
        var weights = new RiskWeights(70, 35, 15, 5, 0.25);
        Violation Broken(Severity severity, bool shadow = false) => new(new RuleHit("XX.rule", "XX", "Nowhere", "", shadow, severity, null), "");

        Assert.Equal(0, weights.Of([]));
        Assert.Equal(70 + 35 * 0.25, weights.Of([Broken(Severity.Critical), Broken(Severity.High, shadow: true)]));
        Assert.Equal(15 + 5, weights.Of([Broken(Severity.Medium), Broken(Severity.Low)]));
        Assert.Equal(100, weights.Of([Broken(Severity.Critical), Broken(Severity.Critical)]));
    }

    [Fact]
    public void RiskWeightsOfAProfile_NeedEveryKey()
    {
        var error = LoadError("scoring: { critical: 70, high: 35, shadow_share: 0.25 }");

        Assert.Equal("Invalid profile documents: xx.yaml: scoring.medium: is required where the risk weights are set; "
            + "xx.yaml: scoring.low: is required where the risk weights are set", error);
    }

    [Fact]
    public void ACatalog_WithoutRiskWeights_OrWithTwoSets_IsRejected()
    {
        var none = Assert.Throws<InvalidDataException>(() => ProfileCatalog.Load([("xx.yaml", Profile("XX", ""))]));
        var two = Assert.Throws<InvalidDataException>(() => ProfileCatalog.Load([("xx.yaml", Profile("XX", Weights)), ("yy.yaml", Profile("YY", Weights))]));

        Assert.Equal("Invalid profile documents: scoring: one profile sets the risk weights of violations; none does", none.Message);
        Assert.Equal("Invalid profile documents: scoring: one profile sets the risk weights of violations; XX, YY do", two.Message);
    }

    private const string Weights = "scoring: { critical: 70, high: 35, medium: 15, low: 5, shadow_share: 0.25 }";

    /// <summary>The error of loading a valid one-rule profile with <paramref name="line"/> added at its top level (and the risk weights, unless the line sets them).</summary>
    private static string LoadError(string line) =>
        Assert.Throws<InvalidDataException>(() => ProfileCatalog.Load([("xx.yaml", Profile("XX", line.StartsWith("scoring:", StringComparison.Ordinal) ? line : $"{line}\n{Weights}"))])).Message;

    /// <summary>A valid one-rule profile with <paramref name="lines"/> added at its top level.</summary>
    private static string Profile(string id, string lines)
    {
        return $$"""
            id: {{id}}
            title: Test
            applies_to: [{{id}}]
            version: "1"
            {{lines}}
            rules:
              - id: {{id}}.hold
                kind: flag-block
                citation: "Nowhere"
                description: Test.
                severity: high
                parameters: { flag: legal_hold }
            """;
    }
}
