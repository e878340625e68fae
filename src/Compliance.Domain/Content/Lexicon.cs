using System.Buffers;
using System.Collections.Frozen;

namespace Compliance.Domain.Content;

/// <summary>
/// The versioned word lists of content analysis, compiled once into a single multi-string search. Immutable: a new
/// lexicon is compiled beside the old one and swapped in whole.
/// </summary>
public sealed class Lexicon
{
    private const string ResourcePrefix = "Compliance.Domain.Content.Lexicons.";
    private static readonly Lazy<Lexicon> BuiltInLexicon = new(LoadBuiltIn);

    internal Lexicon(string version, TextFolder folder, LexiconEntry[] entries, PatternEntry[] patterns, ContentRule? optOutRule)
    {
        Patterns = patterns;
        var anchors = patterns
            .SelectMany((p, i) => p.Pattern.Anchors.Select(a => (Anchor: a, Index: i)))
            .GroupBy(a => a.Anchor, StringComparer.Ordinal)
            .Select(g => new AnchorEntry(g.Key, [.. g.Select(a => a.Index).Distinct()]))
            .ToArray();
        AnchorSearch = SearchValues.Create(anchors.Select(a => a.Key).ToArray(), StringComparison.Ordinal);
        AnchorsByFirstChar = anchors.GroupBy(a => a.Key[0]).ToFrozenDictionary(g => g.Key, g => g.ToArray());
        Version = version;
        Folder = folder;
        OptOutRule = optOutRule;
        TermCount = entries.Sum(e => e.Uses.Length) + patterns.Length;
        Search = SearchValues.Create(entries.Select(e => e.Key).ToArray(), StringComparison.Ordinal);
        ByFirstChar = entries
            .GroupBy(e => e.Key[0])
            .ToFrozenDictionary(g => g.Key, g => g.OrderByDescending(e => e.Key.Length).ToArray());
    }

    /// <summary>The file names and versions this lexicon was compiled from, e.g. "en@2026.12.1;zh@2026.12.1".</summary>
    public string Version { get; }

    /// <summary>How many terms, exceptions and opt-out phrases the lexicon holds.</summary>
    public int TermCount { get; }

    /// <summary>The lexicon shipped in this assembly (Content/Lexicons/*.yaml).</summary>
    public static Lexicon BuiltIn => BuiltInLexicon.Value;

    internal TextFolder Folder { get; }
    internal SearchValues<string> Search { get; }
    internal FrozenDictionary<char, LexiconEntry[]> ByFirstChar { get; }
    internal ContentRule? OptOutRule { get; }

    /// <summary>The pattern terms, run only on messages that hold one of their anchors.</summary>
    internal PatternEntry[] Patterns { get; }
    internal SearchValues<string> AnchorSearch { get; }
    internal FrozenDictionary<char, AnchorEntry[]> AnchorsByFirstChar { get; }

    /// <summary>Validates and compiles lexicon files; any problem rejects the whole set.</summary>
    public static LexiconCompileResult Compile(IEnumerable<(string Name, string Yaml)> files) => LexiconCompiler.Compile(files);

    private static Lexicon LoadBuiltIn()
    {
        var assembly = typeof(Lexicon).Assembly;
        var files = new List<(string, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            files.Add((name[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        var result = Compile(files);
        return result.Lexicon ?? throw new InvalidOperationException(
            "The built-in lexicon does not compile: " + string.Join("; ", result.Problems));
    }
}
