using Compliance.Domain.Content;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Tests.Content;

/// <summary>Content analysis against the built-in lexicon: the examples file, evidence excerpts, citations, speed.</summary>
public sealed class ContentAnalyzerTests
{
    private static readonly ContentAnalyzer Analyzer = new(Lexicon.BuiltIn);
    private static readonly ContentContext ToBorrower = new(Channel.Sms, ToThirdParty: false, RequireOptOutNotice: false);
    private static readonly ContentContext ToThirdParty = new(Channel.Sms, ToThirdParty: true, RequireOptOutNotice: false);

    public static TheoryData<string> Examples => [.. ContentExample.Load().Select(e => e.Name)];

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_FindsExactlyTheExpectedCategories(string name)
    {
        var example = ContentExample.Named(name);

        var findings = Analyzer.Analyze(example.Text, example.Context.ToContext());

        Assert.Equal(example.Expect.Select(ContentExample.Category), findings.Select(f => f.Category));
        if (example.Excerpt is not null)
        {
            Assert.Equal(example.Excerpt, findings[0].Excerpt);
        }
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_FindingsPointIntoTheOriginalText_WithBoundedExcerpts(string name)
    {
        var example = ContentExample.Named(name);

        var findings = Analyzer.Analyze(example.Text, example.Context.ToContext() with { ToThirdParty = true });

        foreach (var finding in findings.Where(f => f.Category != ContentCategory.MissingOptOut))
        {
            Assert.InRange(finding.Excerpt.Length, finding.Length > 0 ? 1 : 0, ContentAnalyzer.MaxExcerptLength);
            Assert.InRange(finding.Start + finding.Length, 1, example.Text.Length);
            var matched = example.Text.Substring(finding.Start, finding.Length);
            // A match longer than an excerpt (a pattern's words can be) is stored as its beginning.
            Assert.True(finding.Length < ContentAnalyzer.MaxExcerptLength
                ? finding.Excerpt.Contains(matched, StringComparison.Ordinal)
                : matched.StartsWith(finding.Excerpt, StringComparison.Ordinal));
            Assert.Contains(finding.Excerpt, example.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Finding_IndexesTheOriginalCharacters_OfAnEvadedTerm()
    {
        const string text = "Hello, the Ｄ.Ｅ.Ａ.Ｄ.Ｂ.Ｅ.Ａ.Ｔ. is here";

        var finding = Assert.Single(Analyzer.Analyze(text, ToBorrower));

        Assert.Equal(ContentCategory.Abuse, finding.Category);
        Assert.Equal("deadbeat", finding.Term);
        Assert.Equal("Ｄ.Ｅ.Ａ.Ｄ.Ｂ.Ｅ.Ａ.Ｔ", text.Substring(finding.Start, finding.Length));
    }

    [Fact]
    public void LongMessage_StoresOnlyAnExcerptAroundTheTerm()
    {
        var text = new string('x', 300) + " you will be arrested " + new string('y', 300);

        var finding = Assert.Single(Analyzer.Analyze(text, ToBorrower));

        Assert.Equal(ContentAnalyzer.MaxExcerptLength, finding.Excerpt.Length);
        Assert.Contains("you will be arrested", finding.Excerpt, StringComparison.Ordinal);
        Assert.Equal(301, finding.Start);
        Assert.Equal(20, finding.Length);
    }

    [Fact]
    public void Threat_CarriesRuleIdCitationAndSeverity()
    {
        var english = Assert.Single(Analyzer.Analyze("We know where you live.", ToBorrower));
        var chinese = Assert.Single(Analyzer.Analyze("小心点", ToBorrower));

        Assert.Equal("CONTENT.threat", english.RuleId);
        Assert.Equal(Severity.Critical, english.Severity);
        Assert.Contains("15 U.S.C. 1692d(1)", english.Citation, StringComparison.Ordinal);
        Assert.Equal("CONTENT.threat", chinese.RuleId);
        Assert.Contains("CBA guideline 2026", chinese.Citation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("You owe us money.", ContentCategory.DebtDisclosure, "CONTENT.debt-disclosure", "12 CFR 1006.6(d)", Severity.Critical)]
    [InlineData("Stop being an idiot.", ContentCategory.Abuse, "CONTENT.abuse", "15 U.S.C. 1692d(2)", Severity.High)]
    [InlineData("An FBI agent will visit.", ContentCategory.Impersonation, "CONTENT.impersonation", "15 U.S.C. 1692e(1)", Severity.Critical)]
    [InlineData("We will tell your boss.", ContentCategory.PublicShaming, "CONTENT.public-shaming", "15 U.S.C. 1692d(3)", Severity.Critical)]
    [InlineData("Get a payday loan if you must.", ContentCategory.PressureToBorrow, "CONTENT.pressure-to-borrow", "12 CFR 1006.14", Severity.Medium)]
    [InlineData("网贷平台借点钱", ContentCategory.PressureToBorrow, "CONTENT.pressure-to-borrow", "CBA guideline 2026", Severity.Medium)]
    public void EachCategory_CitesItsSource(string text, ContentCategory category, string ruleId, string citation, Severity severity)
    {
        var finding = Assert.Single(Analyzer.Analyze(text, ToThirdParty), f => f.Category == category);

        Assert.Equal(ruleId, finding.RuleId);
        Assert.Contains(citation, finding.Citation, StringComparison.Ordinal);
        Assert.Equal(severity, finding.Severity);
    }

    [Fact]
    public void MissingOptOut_IsReportedWithoutPositionOrExcerpt()
    {
        var context = new ContentContext(Channel.Email, ToThirdParty: false, RequireOptOutNotice: true);

        var finding = Assert.Single(Analyzer.Analyze("Please call us.", context));

        Assert.Equal(ContentCategory.MissingOptOut, finding.Category);
        Assert.Equal("12 CFR 1006.6(e)", finding.Citation);
        Assert.Equal(Severity.Medium, finding.Severity);
        Assert.Equal((0, 0, ""), (finding.Start, finding.Length, finding.Excerpt));
    }

    [Fact]
    public void EmptyMessage_FindsNothing_UnlessAnOptOutNoticeIsRequired()
    {
        Assert.Empty(Analyzer.Analyze("", ToThirdParty));
        Assert.Equal(ContentCategory.MissingOptOut,
            Assert.Single(Analyzer.Analyze("", ToBorrower with { RequireOptOutNotice = true })).Category);
    }

    [Fact]
    public void LongerTerm_HidesTheShorterTermOfTheSameCategoryInsideIt()
    {
        var findings = Analyzer.Analyze("You'll be arrested.", ToBorrower);

        Assert.Equal("you'll be arrested", Assert.Single(findings).Term);
    }

    [Fact]
    public void RepeatedTerm_IsReportedAtEachOccurrence()
    {
        var findings = Analyzer.Analyze("idiot, idiot, IDIOT", ToBorrower);

        Assert.Equal([0, 7, 14], findings.Select(f => f.Start));
    }

    [Fact]
    public void ConcurrentCalls_GiveTheSameFindings()
    {
        var texts = ContentExample.Load().Select(e => e.Text).ToArray();
        var expected = texts.Select(t => Analyzer.Analyze(t, ToThirdParty)).ToArray();

        Parallel.For(0, 2000, i =>
        {
            var index = i % texts.Length;
            Assert.Equal(expected[index], Analyzer.Analyze(texts[index], ToThirdParty));
        });
    }
}
