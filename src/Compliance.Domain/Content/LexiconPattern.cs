using System.Text;
using System.Text.RegularExpressions;

namespace Compliance.Domain.Content;

/// <summary>
/// A lexicon term with grammar: what a list of fixed phrases cannot cover ("you will be arrested", "you'd get
/// arrested", "we're going to have you arrested"). Written in the lexicon files as a term holding one of
/// <c>* ( | ) ? ~</c>:
/// <list type="bullet">
/// <item><c>word</c>: that word; words separated by a space are consecutive words of the message.</item>
/// <item><c>word*</c>: a word that starts so (a stem): <c>arrest*</c> is arrest, arrested, arresting.</item>
/// <item><c>(a|b c|d*)</c>: one of the alternatives, each itself a sequence (nested groups allowed).</item>
/// <item><c>x?</c>: an optional word or group.</item>
/// <item><c>~N</c> (N from 1 to 20): up to N other words in between (Chinese: up to N characters), never across the
/// end of a sentence.</item>
/// </list>
/// A pattern holding Chinese characters matches them as written, ignoring spaces and punctuation between them, as a
/// fixed Chinese term does. Patterns are matched on the folded text (case, full-width, look-alikes folded) seen as
/// words; the evasions that only fixed terms tolerate (letters spelled out one by one) are out of scope for patterns.
/// </summary>
/// <remarks>
/// Each pattern is compiled to a small regular expression over the message's word view, and to anchors: the literal
/// starts of the words one of which every match must contain. The analyzer runs a pattern only when the folded message
/// holds one of its anchors, so a message pays for the patterns it might match, not for all of them.
/// </remarks>
internal sealed class LexiconPattern
{
    /// <summary>Separates words in the word view.</summary>
    public const char WordBreak = ' ';

    /// <summary>Stands for the end of a sentence in the word view; no pattern crosses it.</summary>
    public const char SentenceBreak = '|';

    private const int MinimumAnchorLength = 2;
    private const int MinimumStemLength = 3;
    private const int MaximumGap = 20;

    private LexiconPattern(Regex regex, string[] anchors, string source)
    {
        Regex = regex;
        Anchors = anchors;
        Source = source;
    }

    public Regex Regex { get; }

    /// <summary>Folded literals, at least one of which starts a word of any match.</summary>
    public string[] Anchors { get; }

    /// <summary>The expression, for duplicate checks.</summary>
    public string Source { get; }

    /// <summary>True when a lexicon term is written as a pattern.</summary>
    public static bool IsPattern(string term) => term.AsSpan().IndexOfAny("*()|?~") >= 0;

    /// <summary>Compiles a pattern, or says why it cannot be used.</summary>
    public static LexiconPattern? Compile(string text, TextFolder folder, out string? error)
    {
        var cjk = text.Any(c => c is >= '\u3400' and <= '\u9FFF' or >= '\uF900' and <= '\uFAFF');
        var parser = new Parser(text, folder);
        try
        {
            var sequence = parser.ParseSequence(topLevel: true);
            if (!parser.AtEnd)
            {
                throw new FormatException($"unexpected '{parser.Current}' at position {parser.Position + 1}");
            }

            if (sequence.Items.Count == 0)
            {
                throw new FormatException("empty pattern");
            }

            var anchors = sequence.Anchors() ?? throw new FormatException(
                $"no required word of at least {MinimumAnchorLength} letters (or one Chinese character) to find the pattern by");
            var source = new StringBuilder();
            if (!cjk)
            {
                source.Append("(?<![a-z0-9@$])");
            }

            sequence.Emit(source, cjk);
            if (!cjk)
            {
                source.Append("(?![a-z0-9@$])");
            }

            var pattern = source.ToString();
            var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, TimeSpan.FromSeconds(1));
            error = null;
            return new LexiconPattern(regex, [.. anchors.Distinct(StringComparer.Ordinal)], pattern);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    private abstract class Node
    {
        public bool Optional { get; set; }

        public abstract void Emit(StringBuilder to, bool cjk);

        /// <summary>Literal word starts one of which every match of this node contains, or null when there is none.</summary>
        public abstract List<string>? Anchors();
    }

    private sealed class Word(string folded, bool[] gaps, bool stem) : Node
    {
        public override void Emit(StringBuilder to, bool cjk)
        {
            for (var k = 0; k < folded.Length; k++)
            {
                if (k > 0 && (cjk || gaps[k]))
                {
                    to.Append(cjk ? " ?" : " ");
                }

                to.Append(Regex.Escape(folded[k].ToString()));
            }

            if (stem)
            {
                to.Append("[a-z0-9@$]*");
            }
        }

        // One Chinese character is as rare as two Latin letters, so it may anchor a pattern alone.
        public override List<string>? Anchors() => folded.Length >= MinimumAnchorLength || !TextFolder.IsLatin(folded[0]) ? [folded] : null;
    }

    private sealed class Gap(int words) : Node
    {
        public override void Emit(StringBuilder to, bool cjk) =>
            to.Append(cjk ? $"[^|]{{0,{words}}}" : $"(?: [^ |]+){{0,{words}}}");

        public override List<string>? Anchors() => null;
    }

    private sealed class Sequence : Node
    {
        public List<Node> Items { get; } = [];

        public override void Emit(StringBuilder to, bool cjk)
        {
            var separator = cjk ? " ?" : " ";
            var needSeparator = false;
            for (var i = 0; i < Items.Count; i++)
            {
                var item = Items[i];
                if (item is Gap)
                {
                    item.Emit(to, cjk);
                    continue;
                }

                to.Append("(?:");
                if (needSeparator)
                {
                    to.Append(separator);
                }

                item.Emit(to, cjk);
                if (item.Optional && !needSeparator && i + 1 < Items.Count)
                {
                    // An optional first word carries the separator after it, so the next word needs none.
                    to.Append(separator).Append(")?");
                    continue;
                }

                to.Append(item.Optional ? ")?" : ")");
                needSeparator = true;
            }
        }

        public override List<string>? Anchors()
        {
            // The required item whose shortest anchor is longest: the rarest literal to look for.
            List<string>? best = null;
            foreach (var item in Items)
            {
                if (item.Optional || item.Anchors() is not { } anchors)
                {
                    continue;
                }

                if (best is null || anchors.Min(a => a.Length) > best.Min(a => a.Length))
                {
                    best = anchors;
                }
            }

            return best;
        }
    }

    private sealed class Choice(List<Sequence> alternatives) : Node
    {
        public override void Emit(StringBuilder to, bool cjk)
        {
            to.Append("(?:");
            for (var i = 0; i < alternatives.Count; i++)
            {
                if (i > 0)
                {
                    to.Append('|');
                }

                alternatives[i].Emit(to, cjk);
            }

            to.Append(')');
        }

        public override List<string>? Anchors()
        {
            var all = new List<string>();
            foreach (var alternative in alternatives)
            {
                if (alternative.Anchors() is not { } anchors)
                {
                    return null;
                }

                all.AddRange(anchors);
            }

            return all;
        }
    }

    private sealed class Parser(string text, TextFolder folder)
    {
        public int Position { get; private set; }

        public bool AtEnd => Position >= text.Length;

        public char Current => text[Position];

        public Sequence ParseSequence(bool topLevel)
        {
            var sequence = new Sequence();
            while (true)
            {
                while (!AtEnd && char.IsWhiteSpace(Current))
                {
                    Position++;
                }

                if (AtEnd || Current is '|' or ')')
                {
                    break;
                }

                Node item;
                switch (Current)
                {
                    case '(':
                        Position++;
                        var alternatives = new List<Sequence> { ParseSequence(topLevel: false) };
                        while (!AtEnd && Current == '|')
                        {
                            Position++;
                            alternatives.Add(ParseSequence(topLevel: false));
                        }

                        if (AtEnd || Current != ')')
                        {
                            throw new FormatException("a group '(' is not closed");
                        }

                        Position++;
                        if (alternatives.Any(a => a.Items.Count == 0))
                        {
                            throw new FormatException("empty alternative in a group; mark the group optional with '?' instead");
                        }

                        item = new Choice(alternatives);
                        break;
                    case '~':
                        Position++;
                        var digits = Position;
                        while (!AtEnd && char.IsAsciiDigit(Current))
                        {
                            Position++;
                        }

                        if (!int.TryParse(text.AsSpan(digits, Position - digits), out var words) || words is < 1 or > MaximumGap)
                        {
                            throw new FormatException($"'~' takes a number of words from 1 to {MaximumGap}, e.g. '~3'");
                        }

                        item = new Gap(words);
                        break;
                    case '*' or '?':
                        throw new FormatException($"'{Current}' at position {Position + 1} follows no word");
                    default:
                        item = ParseWord();
                        break;
                }

                if (!AtEnd && Current == '?')
                {
                    if (item is Gap)
                    {
                        throw new FormatException("a gap '~N' is optional already");
                    }

                    item.Optional = true;
                    Position++;
                }

                sequence.Items.Add(item);
            }

            if (sequence.Items.Count > 0 && (sequence.Items[0] is Gap || sequence.Items[^1] is Gap))
            {
                throw new FormatException("a gap '~N' must stand between two words");
            }

            if (topLevel && !AtEnd && Current == '|')
            {
                throw new FormatException("alternatives '|' belong inside a group '( )'");
            }

            return sequence;
        }

        private Word ParseWord()
        {
            var start = Position;
            while (!AtEnd && !char.IsWhiteSpace(Current) && Current is not ('(' or ')' or '|' or '?' or '*' or '~'))
            {
                Position++;
            }

            var raw = text[start..Position];
            // Within a word only an apostrophe separates, as in the message's word view ("you'll" is "you ll").
            var parts = raw.Split(['\'', '\u2019'], StringSplitOptions.RemoveEmptyEntries).Select(p => folder.FoldTerm(p)).Where(p => p.Length > 0).ToArray();
            var folded = string.Concat(parts);
            var gaps = new bool[folded.Length];
            for (int i = 0, at = 0; i < parts.Length; at += parts[i].Length, i++)
            {
                gaps[at] = at > 0;
            }

            if (folded.Length == 0)
            {
                throw new FormatException($"'{raw}' has no letters or digits to match");
            }

            var stem = !AtEnd && Current == '*';
            if (stem)
            {
                Position++;
                if (folded.Length < MinimumStemLength)
                {
                    throw new FormatException($"stem '{raw}*' is too short: at least {MinimumStemLength} letters");
                }
            }

            return new Word(folded, gaps, stem);
        }
    }
}
