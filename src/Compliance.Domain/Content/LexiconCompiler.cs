using Compliance.Domain.Rules;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Compliance.Domain.Content;

/// <summary>
/// Reads lexicon files. Each file:
/// <code>
/// version: "2026.11.1"
/// language: en
/// variants: { 債: 债 }                  # optional: single characters folded onto others before matching
/// categories:
///   threat:                             # threat, abuse, impersonation, debt_disclosure, public_shaming,
///     rule_id: CONTENT.threat           # pressure_to_borrow, missing_opt_out
///     severity: critical                # low, medium, high, critical
///     citations: [15 U.S.C. 1692d(1)]
///     terms: [you will be arrested]     # for missing_opt_out: the notices whose presence satisfies the rule
///     except: [...]                     # optional: phrases that silence this category's terms they overlap
/// </code>
/// A term or exception holding one of <c>* ( | ) ? ~</c> is a pattern ("you (will|'ll)? (be|get) arrest*"): see
/// <see cref="LexiconPattern"/> for its grammar.
/// A finding cites the rule of the file its term came from; a missing opt-out cites the first file declaring one.
/// </summary>
internal static class LexiconCompiler
{
    private const int MinimumKeyLength = 2;

    private static readonly Dictionary<string, ContentCategory> Categories = new(StringComparer.Ordinal)
    {
        ["threat"] = ContentCategory.Threat,
        ["abuse"] = ContentCategory.Abuse,
        ["impersonation"] = ContentCategory.Impersonation,
        ["debt_disclosure"] = ContentCategory.DebtDisclosure,
        ["public_shaming"] = ContentCategory.PublicShaming,
        ["pressure_to_borrow"] = ContentCategory.PressureToBorrow,
        ["missing_opt_out"] = ContentCategory.MissingOptOut,
    };

    private static readonly Dictionary<string, Severity> Severities = new(StringComparer.Ordinal)
    {
        ["low"] = Severity.Low,
        ["medium"] = Severity.Medium,
        ["high"] = Severity.High,
        ["critical"] = Severity.Critical,
    };

    private sealed record PendingTerm(string File, string Path, string Text, TermUse Use);

    public static LexiconCompileResult Compile(IEnumerable<(string Name, string Yaml)> files)
    {
        var problems = new List<LexiconProblem>();
        var variants = new Dictionary<char, char>();
        var variantOrigin = new Dictionary<char, string>();
        var pending = new List<PendingTerm>();
        var versions = new List<string>();
        ContentRule? optOut = null;

        var ordered = files.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        if (ordered.Count == 0)
        {
            problems.Add(new LexiconProblem("", "", "no lexicon files"));
        }

        foreach (var (name, yaml) in ordered)
        {
            var reader = new FileReader(name, problems);
            if (reader.Load(yaml) is not { } root)
            {
                continue;
            }

            string? version = null;
            foreach (var (key, node) in Entries(root))
            {
                switch (key)
                {
                    case "version": version = reader.Scalar(node, key); break;
                    case "language": reader.Scalar(node, key); break;
                    case "variants": reader.ReadVariants(node, variants, variantOrigin); break;
                    case "categories":
                        var declared = reader.ReadCategories(node, pending);
                        optOut ??= declared;
                        break;
                    default: reader.Problem(key, "unknown key; expected version, language, variants or categories"); break;
                }
            }

            if (string.IsNullOrEmpty(version))
            {
                if (version is not null || !root.Children.ContainsKey("version"))
                {
                    reader.Problem("version", version is null ? "missing" : "empty");
                }
            }
            else
            {
                versions.Add($"{Path.GetFileNameWithoutExtension(name)}@{version}");
            }
        }

        // Terms fold only once every file's variants are known, so a term in en.yaml sees zh.yaml's table too.
        var folder = new TextFolder(variants);
        var byKey = new Dictionary<string, (List<TermUse> Uses, bool[] WordGaps)>(StringComparer.Ordinal);
        var seen = new Dictionary<(string Key, ContentCategory Category, TermRole Role), string>();
        var patterns = new List<PatternEntry>();
        foreach (var term in pending)
        {
            if (LexiconPattern.IsPattern(term.Text))
            {
                var pattern = LexiconPattern.Compile(term.Text, folder, out var error);
                if (pattern is null)
                {
                    problems.Add(new LexiconProblem(term.File, term.Path, $"pattern '{term.Text}': {error}"));
                }
                else if (term.Use.Role == TermRole.OptOut)
                {
                    problems.Add(new LexiconProblem(term.File, term.Path, $"pattern '{term.Text}': opt-out notices are fixed phrases"));
                }
                else if (seen.TryGetValue((pattern.Source, term.Use.Rule.Category, term.Use.Role), out var firstPattern))
                {
                    problems.Add(new LexiconProblem(term.File, term.Path, $"pattern '{term.Text}' repeats {firstPattern}"));
                }
                else
                {
                    seen[(pattern.Source, term.Use.Rule.Category, term.Use.Role)] = $"{term.File}: {term.Path}";
                    patterns.Add(new PatternEntry(pattern, term.Use));
                }

                continue;
            }

            var key = folder.FoldTerm(term.Text, out var wordGaps);
            if (key.Length == 0)
            {
                problems.Add(new LexiconProblem(term.File, term.Path, term.Text.Trim().Length == 0
                    ? "empty term"
                    : $"term '{term.Text}' has no letters or digits to match"));
                continue;
            }

            if (key.Length < MinimumKeyLength)
            {
                problems.Add(new LexiconProblem(term.File, term.Path, $"term '{term.Text}' is too short: at least {MinimumKeyLength} letters or digits"));
                continue;
            }

            if (seen.TryGetValue((key, term.Use.Rule.Category, term.Use.Role), out var first))
            {
                problems.Add(new LexiconProblem(term.File, term.Path, $"term '{term.Text}' repeats {first} once normalised ('{key}')"));
                continue;
            }

            seen[(key, term.Use.Rule.Category, term.Use.Role)] = $"{term.File}: {term.Path}";
            if (!byKey.TryGetValue(key, out var entry))
            {
                byKey[key] = entry = ([], wordGaps);
            }

            entry.Uses.Add(term.Use);
            for (var k = 0; k < wordGaps.Length; k++)
            {
                entry.WordGaps[k] |= wordGaps[k];
            }
        }

        if (problems.Count > 0)
        {
            return new LexiconCompileResult(null, problems);
        }

        var entries = byKey.Select(kv => new LexiconEntry(kv.Key, [.. kv.Value.Uses], kv.Value.WordGaps)).ToArray();
        return new LexiconCompileResult(new Lexicon(string.Join(';', versions), folder, entries, [.. patterns], optOut), []);
    }

    private static IEnumerable<(string Key, YamlNode Value)> Entries(YamlMappingNode mapping)
    {
        foreach (var entry in mapping.Children)
        {
            yield return ((entry.Key as YamlScalarNode)?.Value ?? "", entry.Value);
        }
    }

    /// <summary>Reads one file, adding problems that name it and the key path.</summary>
    private sealed class FileReader(string file, List<LexiconProblem> problems)
    {
        public void Problem(string path, string message) => problems.Add(new LexiconProblem(file, path, message));

        public YamlMappingNode? Load(string yaml)
        {
            try
            {
                var stream = new YamlStream();
                stream.Load(new StringReader(yaml));
                if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
                {
                    Problem("", "expected a mapping with version and categories");
                    return null;
                }

                return root;
            }
            catch (YamlException e)
            {
                Problem("", $"YAML syntax error at line {e.Start.Line}, column {e.Start.Column}");
                return null;
            }
            catch (InvalidOperationException)
            {
                // Some malformed flow collections make YamlDotNet's scanner fail without a position.
                Problem("", "YAML syntax error: the document is not well-formed");
                return null;
            }
        }

        public string? Scalar(YamlNode node, string path)
        {
            if (node is YamlScalarNode scalar)
            {
                return scalar.Value?.Trim() ?? "";
            }

            Problem(path, "expected a single value");
            return null;
        }

        private List<(string Path, string Text)>? Strings(YamlNode node, string path)
        {
            if (node is YamlScalarNode scalar && node.Tag.IsEmpty)
            {
                return string.IsNullOrEmpty(scalar.Value) ? [] : [(path, scalar.Value)];
            }

            if (node is not YamlSequenceNode sequence)
            {
                Problem(path, "expected a list");
                return null;
            }

            var list = new List<(string, string)>();
            for (var i = 0; i < sequence.Children.Count; i++)
            {
                if (Scalar(sequence.Children[i], $"{path}[{i}]") is { } text)
                {
                    list.Add(($"{path}[{i}]", text));
                }
            }

            return list;
        }

        public void ReadVariants(YamlNode node, Dictionary<char, char> variants, Dictionary<char, string> origin)
        {
            if (node is not YamlMappingNode map)
            {
                Problem("variants", "expected a mapping of single characters, e.g. { 債: 债 }");
                return;
            }

            foreach (var (from, toNode) in Entries(map))
            {
                var path = $"variants.{from}";
                var to = Scalar(toNode, path);
                if (to is null)
                {
                    continue;
                }

                if (from.Length != 1 || to.Length != 1 || from[0] < 0x80 || char.IsSurrogate(from[0]) || char.IsSurrogate(to[0]))
                {
                    Problem(path, $"expected one non-ASCII character mapped to one character, got '{from}' → '{to}'");
                    continue;
                }

                // Keys are matched after lower-casing, so the table is stored lower-cased.
                var key = char.ToLowerInvariant(from[0]);
                var value = char.ToLowerInvariant(to[0]);
                if (variants.TryGetValue(key, out var existing) && existing != value)
                {
                    Problem(path, $"maps '{from}' to '{to}', but {origin[key]} maps it to '{existing}'");
                    continue;
                }

                variants[key] = value;
                origin[key] = $"{file}: {path}";
            }
        }

        /// <summary>Reads the categories; returns the missing-opt-out rule when this file declares one.</summary>
        public ContentRule? ReadCategories(YamlNode node, List<PendingTerm> pending)
        {
            if (node is not YamlMappingNode map)
            {
                Problem("categories", "expected a mapping from category to rule");
                return null;
            }

            ContentRule? optOut = null;
            foreach (var (name, body) in Entries(map))
            {
                var path = $"categories.{name}";
                if (!Categories.TryGetValue(name, out var category))
                {
                    Problem(path, $"unknown category; expected one of {string.Join(", ", Categories.Keys)}");
                    continue;
                }

                if (ReadCategory(category, body, path, pending) is { } rule && category == ContentCategory.MissingOptOut)
                {
                    optOut = rule;
                }
            }

            return optOut;
        }

        /// <summary>False when a required key is absent or empty; a present but invalid value was reported already.</summary>
        private bool Required(YamlMappingNode map, string path, string key, bool present)
        {
            if (present)
            {
                return true;
            }

            if (!map.Children.TryGetValue(key, out var node))
            {
                Problem($"{path}.{key}", "missing");
            }
            else if (node is YamlScalarNode { Value: null or "" } or YamlSequenceNode { Children.Count: 0 })
            {
                Problem($"{path}.{key}", "empty");
            }

            return false;
        }

        private ContentRule? ReadCategory(ContentCategory category, YamlNode node, string path, List<PendingTerm> pending)
        {
            if (node is not YamlMappingNode map)
            {
                Problem(path, "expected a mapping with rule_id, severity, citations and terms");
                return null;
            }

            string? ruleId = null;
            Severity? severity = null;
            List<(string Path, string Text)>? citations = null, terms = null, exceptions = null;
            foreach (var (key, value) in Entries(map))
            {
                var at = $"{path}.{key}";
                switch (key)
                {
                    case "rule_id":
                        ruleId = Scalar(value, at);
                        break;
                    case "severity":
                        if (Scalar(value, at) is { } text)
                        {
                            if (Severities.TryGetValue(text, out var s))
                            {
                                severity = s;
                            }
                            else
                            {
                                Problem(at, $"unknown severity '{text}'; expected low, medium, high or critical");
                            }
                        }

                        break;
                    case "citations": citations = Strings(value, at); break;
                    case "terms": terms = Strings(value, at); break;
                    case "except": exceptions = Strings(value, at); break;
                    default: Problem(at, "unknown key; expected rule_id, severity, citations, terms or except"); break;
                }
            }

            var ok = Required(map, path, "rule_id", !string.IsNullOrEmpty(ruleId))
                & Required(map, path, "severity", severity is not null)
                & Required(map, path, "citations", citations is [_, ..]);
            foreach (var (at, text) in citations ?? [])
            {
                if (text.Length == 0)
                {
                    Problem(at, "empty citation");
                    ok = false;
                }
            }

            if (!ok)
            {
                return null;
            }

            var rule = new ContentRule(category, ruleId!, string.Join("; ", citations!.Select(c => c.Text)), severity!.Value);
            var termRole = category == ContentCategory.MissingOptOut ? TermRole.OptOut : TermRole.Term;
            foreach (var (at, text) in terms ?? [])
            {
                pending.Add(new PendingTerm(file, at, text, new TermUse(rule, termRole, text)));
            }

            foreach (var (at, text) in exceptions ?? [])
            {
                pending.Add(new PendingTerm(file, at, text, new TermUse(rule, TermRole.Exception, text)));
            }

            return rule;
        }
    }
}
