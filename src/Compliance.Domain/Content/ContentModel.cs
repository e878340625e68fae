using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Content;

/// <summary>What a collection message's wording may break; each maps to one rule of the lexicon.</summary>
public enum ContentCategory
{
    Threat = 1,
    Abuse = 2,
    Impersonation = 3,
    DebtDisclosure = 4,
    PublicShaming = 5,
    PressureToBorrow = 6,
    MissingOptOut = 7,
}

/// <summary>
/// One hit in a message. <see cref="Start"/> and <see cref="Length"/> index the original text; <see cref="Excerpt"/> is
/// the matched original characters with a little context (at most <see cref="ContentAnalyzer.MaxExcerptLength"/>
/// characters), which is what gets stored as evidence instead of the whole body.
/// </summary>
public sealed record ContentFinding(
    ContentCategory Category, string RuleId, string Citation, Severity Severity, string Term, string Excerpt, int Start, int Length);

/// <summary>
/// Where a message goes. <paramref name="ToThirdParty"/>: an unrelated or unknown third party, so any mention of the
/// debt is a disclosure. <paramref name="RequireOptOutNotice"/>: the message must carry an opt-out notice (US texts and
/// e-mails, 12 CFR 1006.6(e)).
/// </summary>
public readonly record struct ContentContext(Channel Channel, bool ToThirdParty, bool RequireOptOutNotice);

/// <summary>One reason a lexicon file was rejected: the file, the key path inside it and the reason.</summary>
public sealed record LexiconProblem(string File, string Path, string Message)
{
    public override string ToString() => Path.Length == 0 ? $"{File}: {Message}" : $"{File}: {Path}: {Message}";
}

/// <summary>A compiled lexicon, or every problem that prevented compiling it.</summary>
public sealed record LexiconCompileResult(Lexicon? Lexicon, IReadOnlyList<LexiconProblem> Problems)
{
    public bool Ok => Lexicon is not null;
}

/// <summary>The rule a finding reports: the lexicon file's rule id, citation and severity for one category.</summary>
internal sealed record ContentRule(ContentCategory Category, string RuleId, string Citation, Severity Severity);

/// <summary>How a matched lexicon key is used: a term to report, an exception that silences terms it contains, or an opt-out notice.</summary>
internal enum TermRole
{
    Term,
    Exception,
    OptOut,
}

internal readonly record struct TermUse(ContentRule Rule, TermRole Role, string Display);

/// <summary>One folded key of the single search, with every category that uses it.</summary>
internal sealed class LexiconEntry(string key, TermUse[] uses, bool[] wordGaps)
{
    public string Key { get; } = key;
    public TermUse[] Uses { get; } = uses;

    /// <summary>Positions of <see cref="Key"/> before which a term using it has a gap of its own ("court|order").</summary>
    public bool[] WordGaps { get; } = wordGaps;

    // Word boundaries apply only at edges that are Latin, so Chinese terms match anywhere.
    public bool LatinStart { get; } = TextFolder.IsLatin(key[0]);
    public bool LatinEnd { get; } = TextFolder.IsLatin(key[^1]);
}

/// <summary>A compiled pattern term with the one use it has (patterns are not shared between categories).</summary>
internal sealed class PatternEntry(LexiconPattern pattern, TermUse use)
{
    public LexiconPattern Pattern { get; } = pattern;
    public TermUse[] Uses { get; } = [use];
}

/// <summary>A folded literal that every match of the listed patterns contains at the start of a word.</summary>
internal sealed class AnchorEntry(string key, int[] patterns)
{
    public string Key { get; } = key;
    public int[] Patterns { get; } = patterns;
    public bool LatinStart { get; } = TextFolder.IsLatin(key[0]);
}
