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

        Assert.Equal("en@2026.11.1;zh@2026.11.1", lexicon.Version);
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
}
