using Compliance.Domain.Content;
using Compliance.Domain.Registry;

namespace Compliance.Domain.Tests.Content;

/// <summary>The folding that messages and terms share, and the map from folded characters back to the original.</summary>
public sealed class TextFolderTests
{
    [Theory]
    [InlineData("ＰＯＬＩＣＥ", "poiice", "full-width letters fold to ASCII, l folds onto i")]
    [InlineData("p.o.l.i.c.e", "poiice", "punctuation between letters vanishes")]
    [InlineData("po\u200Blice", "poiice", "zero-width space vanishes")]
    [InlineData("p0l1c3", "poiice", "look-alike digits inside a Latin word become letters")]
    [InlineData("p 0 l 1 c 3", "poiice", "look-alike digits spelled out between letters become letters")]
    [InlineData("owe 500 in 5 days", "owe500in5days", "digits outside Latin words stay digits")]
    [InlineData("l0$er @ home", "ioser@home", "look-alike symbols inside words become letters; a lone @ between words stays")]
    [InlineData("$500", "$500", "a dollar sign before a number stays a symbol")]
    [InlineData("Crème brûlée", "cremebruiee", "accents vanish")]
    [InlineData("法 院，逾*期", "法院逾期", "spaces and symbols between Chinese characters vanish")]
    [InlineData("債務還錢", "债务还钱", "traditional characters of the lexicon fold to simplified")]
    [InlineData("\uF9D8師", "律师", "compatibility ideographs fold to unified ones")]
    [InlineData("逾期3天", "逾期3天", "digits in Chinese text stay digits")]
    public void Fold_CollapsesEvasions(string text, string expected, string because)
    {
        Assert.True(Fold(text) == expected, $"{because}: got '{Fold(text)}'");
    }

    [Fact]
    public void FoldedCharacters_MapBackToTheirOriginalIndex()
    {
        var buffer = new FoldBuffer();
        try
        {
            Lexicon.BuiltIn.Folder.Fold("a\U0001D41B-Ｃ d", ref buffer);

            Assert.Equal("abcd", new string(buffer.Chars, 0, buffer.Count));
            Assert.Equal([0, 1, 4, 6], buffer.Origin[..buffer.Count]);
            Assert.Equal([TextFolder.WordGap, TextFolder.NoGap, TextFolder.MarkGap, TextFolder.WordGap], buffer.Gap[..buffer.Count]);
        }
        finally
        {
            buffer.Dispose();
        }
    }

    [Theory]
    [InlineData("\uD800police")]
    [InlineData("police\uDC00")]
    [InlineData("\uDC00\uD800")]
    [InlineData("\uFDFA police \U0001F600")]
    [InlineData("p")]
    public void OddInput_NeverThrows_AndFindingsStayInsideTheText(string text)
    {
        var findings = new ContentAnalyzer(Lexicon.BuiltIn).Analyze(text, new ContentContext(Channel.Sms, true, true));

        Assert.All(findings, f => Assert.InRange(f.Start + f.Length, 0, text.Length));
    }

    private static string Fold(string text) => Lexicon.BuiltIn.Folder.FoldTerm(text);
}
