using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Compliance.Domain.Policies;

/// <summary>Small helpers over YamlDotNet's node model that report problems with their paths instead of throwing.</summary>
internal static class YamlText
{
    /// <summary>Parses a single-document YAML text; a syntax error becomes a problem with its line and column.</summary>
    public static YamlNode? Load(string text, string path, List<PolicyProblem> problems)
    {
        var parser = new Parser(new StringReader(text));
        try
        {
            var stream = new YamlStream();
            stream.Load(parser);
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            var inner = e.InnerException is YamlException deeper ? deeper.Message : e.Message;
            problems.Add(new PolicyProblem(path, $"YAML syntax error at line {e.Start.Line}, column {e.Start.Column}: {Trim(inner)}"));
            return null;
        }
        catch (InvalidOperationException)
        {
            // Some malformed input (an unclosed flow mapping) makes the scanner fail without a YamlException;
            // the last event parsed still tells where the document stopped making sense.
            var line = parser.Current?.End.Line ?? 0;
            problems.Add(new PolicyProblem(path, $"YAML syntax error at line {line}: the document is not well-formed after this point"));
            return null;
        }
    }

    private static string Trim(string message)
    {
        // YamlDotNet prefixes its messages with the position we already report.
        var close = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith('(') && close > 0 ? message[(close + 3)..] : message;
    }

    public static string At(YamlNode node) => $"line {node.Start.Line}";

    /// <summary>A scalar as text, or a sequence of scalars as comma-separated text; null (with a problem) otherwise.</summary>
    public static string? Value(YamlNode node, string path, List<PolicyProblem> problems)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                return scalar.Value?.Trim() ?? "";
            case YamlSequenceNode sequence:
                var items = new List<string>();
                foreach (var item in sequence.Children)
                {
                    if (item is not YamlScalarNode s)
                    {
                        problems.Add(new PolicyProblem(path, $"expected a list of plain values ({At(item)})"));
                        return null;
                    }

                    items.Add(s.Value?.Trim() ?? "");
                }

                return string.Join(',', items);
            default:
                problems.Add(new PolicyProblem(path, $"expected a value or a list, got a mapping ({At(node)})"));
                return null;
        }
    }

    public static string? Scalar(YamlNode node, string path, List<PolicyProblem> problems)
    {
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value?.Trim() ?? "";
        }

        problems.Add(new PolicyProblem(path, $"expected a single value ({At(node)})"));
        return null;
    }

    /// <summary>A scalar that must be true or false; null (with a problem when it is something else) otherwise.</summary>
    public static bool? Boolean(YamlNode node, string path, List<PolicyProblem> problems)
    {
        var text = Scalar(node, path, problems);
        if (text is "true" or "false")
        {
            return text == "true";
        }

        if (text is not null)
        {
            problems.Add(new PolicyProblem(path, $"expected true or false, got '{text}'"));
        }

        return null;
    }

    public static List<string>? Strings(YamlNode node, string path, List<PolicyProblem> problems)
    {
        if (node is YamlScalarNode { Value: null or "" })
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            problems.Add(new PolicyProblem(path, $"expected a list ({At(node)})"));
            return null;
        }

        var list = new List<string>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (Scalar(sequence.Children[i], $"{path}[{i}]", problems) is { } s)
            {
                list.Add(s);
            }
        }

        return list;
    }

    public static YamlMappingNode? Mapping(YamlNode node, string path, List<PolicyProblem> problems)
    {
        if (node is YamlMappingNode mapping)
        {
            return mapping;
        }

        if (node is YamlScalarNode { Value: null or "" } && node.Tag.IsEmpty)
        {
            return new YamlMappingNode();
        }

        problems.Add(new PolicyProblem(path, $"expected a mapping ({At(node)})"));
        return null;
    }

    public static IEnumerable<(string Key, YamlNode Value)> Entries(YamlMappingNode mapping)
    {
        foreach (var entry in mapping.Children)
        {
            yield return ((entry.Key as YamlScalarNode)?.Value ?? "", entry.Value);
        }
    }

    /// <summary>A path segment for a key: plain when it is a simple word, quoted otherwise.</summary>
    public static string Key(string parent, string key)
    {
        var simple = key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        var segment = simple ? key : $"[\"{key}\"]";
        return parent.Length == 0 ? segment : simple ? $"{parent}.{segment}" : parent + segment;
    }
}
