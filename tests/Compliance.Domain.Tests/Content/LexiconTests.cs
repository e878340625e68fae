using Compliance.Domain.Content;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Tests.Content;

/// <summary>Compiling lexicons: the built-in one, and invalid files rejected with file, key path and reason.</summary>
public sealed class LexiconTests
{
    private const string ExpectPrefix = "# expect: ";

    private static string InvalidDirectory => Path.Combine(ContentExample.Directory, "invalid");

    public static TheoryData<string> InvalidFiles =>
        [.. Directory.GetFiles(InvalidDirectory, "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void BuiltIn_CompilesBothLanguages_WithAVersion()
    {
        var lexicon = Lexicon.BuiltIn;

        Assert.Equal("en@2026.12.1;zh@2026.12.1", lexicon.Version);
        Assert.InRange(lexicon.TermCount, 300, 2000);
    }

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void InvalidFile_IsRejected_WithEveryProblemNamingFilePathAndReason(string file)
    {
        var text = File.ReadAllText(Path.Combine(InvalidDirectory, file));
        var expected = text.Split('\n').Where(l => l.StartsWith(ExpectPrefix, StringComparison.Ordinal)).Select(l => l[ExpectPrefix.Length..]).ToList();

        var result = Lexicon.Compile([(file, text)]);

        Assert.Null(result.Lexicon);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, result.Problems.Select(p => p.ToString()));
    }

    [Fact]
    public void ConflictingVariants_AcrossFiles_NameBothPlaces()
    {
        var result = Lexicon.Compile([("a.yaml", "version: '1'\nvariants: { 債: 债 }"), ("b.yaml", "version: '1'\nvariants: { 債: 责 }")]);

        var problem = Assert.Single(result.Problems);
        Assert.Equal(new LexiconProblem("b.yaml", "variants.債", "maps '債' to '责', but a.yaml: variants.債 maps it to '债'"), problem);
    }

    [Fact]
    public void NoFiles_IsAProblem()
    {
        Assert.Equal("no lexicon files", Assert.Single(Lexicon.Compile([]).Problems).Message);
    }

    [Fact]
    public void CustomLexicon_MatchesItsOwnTerms_AndAppliesVariantsFromAnyFile()
    {
        var result = Lexicon.Compile([
            ("a.yaml", "version: '7'\ncategories:\n  threat: { rule_id: X.threat, severity: high, citations: [Test 1], terms: [還錢, tow truck] }"),
            ("b.yaml", "version: '3'\nvariants: { 還: 还, 錢: 钱 }"),
        ]);
        var analyzer = new ContentAnalyzer(result.Lexicon!);

        var findings = analyzer.Analyze("快还钱，不然 TOW-TRUCK 来了", new ContentContext(Channel.Sms, false, false));

        Assert.Equal("a@7;b@3", result.Lexicon!.Version);
        Assert.Equal(["還錢", "tow truck"], findings.Select(f => f.Term));
        Assert.All(findings, f => Assert.Equal(("X.threat", "Test 1"), (f.RuleId, f.Citation)));
    }

    private static ContentAnalyzer PatternAnalyzer(string terms, string except = "[]")
    {
        var result = Lexicon.Compile([("p.yaml", $"version: '1'\ncategories:\n  threat: {{ rule_id: X.threat, severity: high, citations: [Test 1], terms: {terms}, except: {except} }}")]);
        Assert.True(result.Ok, string.Join("; ", result.Problems));
        return new ContentAnalyzer(result.Lexicon!);
    }

    private static string[] Matched(ContentAnalyzer analyzer, string text) =>
        [.. analyzer.Analyze(text, new ContentContext(Channel.Sms, false, false)).Select(f => text.Substring(f.Start, f.Length))];

    [Theory]
    [InlineData("You will be arrested.", "You will be arrested")]
    [InlineData("you'll get ARRESTED tonight", "you'll get ARRESTED")]
    [InlineData("You'd be arrested", "")]
    [InlineData("you will be a-r-r-e-s-t-e-d", "you will be a-r-r-e-s-t-e-d")]
    [InlineData("you will be a r r e s t e d", "you will be a r r e s t e d")]
    [InlineData("you will be arrestingly", "you will be arrestingly")]
    [InlineData("you will be rearrested", "")]
    public void Pattern_CoversVerbFormsOptionalWordsAndStems(string text, string expected)
    {
        var analyzer = PatternAnalyzer("[\"you ('ll|will|shall)? (be|get) arrest*\"]");

        Assert.Equal(expected.Length == 0 ? [] : [expected], Matched(analyzer, text));
    }

    [Theory]
    [InlineData("we are going to sue", "we are going to sue")]
    [InlineData("we sue", "we sue")]
    [InlineData("we will, no doubt, very soon sue", "")]
    [InlineData("we will. Sue is our agent", "")]
    [InlineData("We? Sue!", "")]
    public void Gap_SpansAtMostItsWords_AndNeverASentenceEnd(string text, string expected)
    {
        var analyzer = PatternAnalyzer("[\"we ~3 sue\"]");

        Assert.Equal(expected.Length == 0 ? [] : [expected], Matched(analyzer, text));
    }

    [Theory]
    [InlineData("不还就移交公安", "移交公安")]
    [InlineData("不还就移交给当地公安", "移交给当地公安")]
    [InlineData("移＊交 公安", "移＊交 公安")]
    [InlineData("移交了很多很多材料给公安", "")]
    [InlineData("移交。公安", "")]
    public void ChinesePattern_CountsCharacters_AndIgnoresSpacesAndMarks(string text, string expected)
    {
        var analyzer = PatternAnalyzer("[\"移交~4(公安|警方)\"]");

        Assert.Equal(expected.Length == 0 ? [] : [expected], Matched(analyzer, text));
    }

    [Theory]
    [InlineData("We will not sue you.", new string[0])]
    [InlineData("We are not going to sue you.", new string[0])]
    [InlineData("If you do not pay we will sue you.", new[] { "will sue you" })]
    public void PatternException_SilencesTheTermsItOverlaps(string text, string[] expected)
    {
        var analyzer = PatternAnalyzer("[\"(will|going to) sue (you)?\"]", "[\"not ~2 sue\"]");

        Assert.Equal(expected, Matched(analyzer, text));
    }

    [Fact]
    public void OverlappingTermsOfACategory_GiveOneFinding()
    {
        var analyzer = PatternAnalyzer("[\"we will (sue|arrest) you\", \"arrest you\", jail]");

        Assert.Equal(["we will arrest you", "jail"], Matched(analyzer, "we will arrest you and then jail"));
    }
}

