using System.Buffers;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Content;

/// <summary>
/// Checks a collection message's wording against a lexicon: threats, abuse, impersonation, debt disclosure to third
/// parties, public shaming, pressure to borrow and a missing opt-out notice. Thread-safe; one folding pass, one
/// multi-string search for fixed terms and one for the anchors of pattern terms per message, then only the patterns
/// whose anchors occur run, on the message seen as words.
/// </summary>
public sealed class ContentAnalyzer(Lexicon lexicon)
{
    /// <summary>The longest excerpt stored as evidence.</summary>
    public const int MaxExcerptLength = 40;

    private readonly Lexicon lexicon = lexicon ?? throw new ArgumentNullException(nameof(lexicon));

    /// <summary>The lexicon version, for the decision record.</summary>
    public string LexiconVersion => lexicon.Version;

    /// <summary>Findings in order of position; a missing opt-out comes last.</summary>
    public IReadOnlyList<ContentFinding> Analyze(string text, ContentContext context)
    {
        ArgumentNullException.ThrowIfNull(text);

        var folded = new FoldBuffer();
        var matches = new MatchList();
        try
        {
            lexicon.Folder.Fold(text, ref folded);
            FindAll(ref folded, ref matches);
            FindPatterns(text, ref folded, ref matches);
            return Report(text, context, ref folded, ref matches);
        }
        finally
        {
            folded.Dispose();
            matches.Dispose();
        }
    }

    private void FindAll(ref FoldBuffer folded, ref MatchList matches)
    {
        ReadOnlySpan<char> span = folded.Chars.AsSpan(0, folded.Count);
        var gaps = folded.Gap;
        var position = 0;
        while (position < span.Length)
        {
            var found = span[position..].IndexOfAny(lexicon.Search);
            if (found < 0)
            {
                break;
            }

            var start = position + found;
            var rest = span[start..];
            foreach (var entry in lexicon.ByFirstChar[rest[0]])
            {
                if (!rest.StartsWith(entry.Key, StringComparison.Ordinal))
                {
                    continue;
                }

                var end = start + entry.Key.Length;
                // A Latin edge needs a word boundary: the neighbour is not a Latin letter or digit, or a space or
                // punctuation separated them in the original ("the police", not "xpolice" or "policeman").
                var leftOk = !entry.LatinStart || gaps[start] != TextFolder.NoGap || !TextFolder.IsLatin(span[start - 1]);
                var rightOk = !entry.LatinEnd || end == span.Length || gaps[end] != TextFolder.NoGap || !TextFolder.IsLatin(span[end]);
                if (leftOk && rightOk && (!(entry.LatinStart || entry.LatinEnd) || WordsHold(gaps, start, entry)))
                {
                    matches.Add(new Match(start, end, entry.Uses));
                }
            }

            position = start + 1;
        }
    }

    /// <summary>
    /// Runs the pattern terms whose anchors the folded message holds, on the message seen as words, and merges their
    /// matches into <paramref name="matches"/> in order of position. A pattern runs only on the sentences that hold one
    /// of its anchors: no pattern crosses a sentence break (<see cref="LexiconPattern.SentenceBreak"/>), every match
    /// holds one of its anchors, and a sentence is bounded by marks (or the ends of the message) that no word touches,
    /// so the matches are those a run over the whole message would find.
    /// </summary>
    private void FindPatterns(string text, ref FoldBuffer folded, ref MatchList matches)
    {
        var patterns = lexicon.Patterns;
        if (patterns.Length == 0)
        {
            return;
        }

        ReadOnlySpan<char> span = folded.Chars.AsSpan(0, folded.Count);
        var gaps = folded.Gap;
        // Where an anchor occurs (a folded index) and the patterns it stands for, in order of position.
        var found = new AnchorList();
        var position = 0;
        while (position < span.Length)
        {
            var next = span[position..].IndexOfAny(lexicon.AnchorSearch);
            if (next < 0)
            {
                break;
            }

            var start = position + next;
            foreach (var anchor in lexicon.AnchorsByFirstChar[span[start]])
            {
                if (span[start..].StartsWith(anchor.Key, StringComparison.Ordinal)
                    && (!anchor.LatinStart || gaps[start] != TextFolder.NoGap || !TextFolder.IsLatin(span[start - 1])))
                {
                    found.Add(start, anchor.Patterns);
                }
            }

            position = start + 1;
        }

        if (found.Count == 0)
        {
            return;
        }

        var view = ArrayPool<char>.Shared.Rent(span.Length * 2);
        var toFolded = ArrayPool<int>.Shared.Rent(span.Length * 2);
        var sentenceOf = ArrayPool<int>.Shared.Rent(span.Length);
        var sentenceStart = ArrayPool<int>.Shared.Rent(span.Length + 1);
        // Per pattern, the sentences it runs on (bit s for sentence s); with more than 64 sentences, the whole message.
        var sentencesOf = ArrayPool<ulong>.Shared.Rent(patterns.Length);
        try
        {
            var length = WordView(text, ref folded, view, toFolded, sentenceOf, sentenceStart, out var sentences);
            sentenceStart[sentences] = length + 1;
            var whole = sentences > 64;
            Array.Clear(sentencesOf, 0, patterns.Length);
            foreach (var (at, indices) in found.Items.AsSpan(0, found.Count))
            {
                var bit = whole ? 1UL : 1UL << sentenceOf[at];
                foreach (var index in indices)
                {
                    sentencesOf[index] |= bit;
                }
            }

            var first = matches.Count;
            for (var i = 0; i < patterns.Length; i++)
            {
                var bits = sentencesOf[i];
                while (bits != 0)
                {
                    // A run of neighbouring sentences is searched as one stretch, breaks and all.
                    var from = System.Numerics.BitOperations.TrailingZeroCount(bits);
                    var to = from + System.Numerics.BitOperations.TrailingZeroCount(~(bits >> from));
                    bits = to >= 64 ? 0 : bits & (ulong.MaxValue << to);
                    var offset = whole ? 0 : sentenceStart[from];
                    var end = whole ? length : sentenceStart[to] - 1;
                    foreach (var match in patterns[i].Pattern.Regex.EnumerateMatches(view.AsSpan(offset, end - offset)))
                    {
                        AddPatternMatch(ref matches, toFolded, offset + match.Index, offset + match.Index + match.Length - 1, patterns[i].Uses);
                    }
                }
            }

            // Insertion of the pattern matches among the term matches, which are in order of position (longer first) already.
            var items = matches.Items is null ? [] : matches.Items.AsSpan(0, matches.Count);
            for (var i = Math.Max(first, 1); i < items.Length; i++)
            {
                var item = items[i];
                var j = i - 1;
                while (j >= 0 && (items[j].Start > item.Start || (items[j].Start == item.Start && items[j].Length < item.Length)))
                {
                    items[j + 1] = items[j];
                    j--;
                }

                items[j + 1] = item;
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(view, clearArray: true);
            ArrayPool<int>.Shared.Return(toFolded);
            ArrayPool<int>.Shared.Return(sentenceOf);
            ArrayPool<int>.Shared.Return(sentenceStart);
            ArrayPool<ulong>.Shared.Return(sentencesOf);
            found.Dispose();
        }
    }

    /// <summary>A pattern's match in the word view, from its first to its last word character, as a match of the folded message.</summary>
    private static void AddPatternMatch(ref MatchList matches, int[] toFolded, int from, int to, TermUse[] uses)
    {
        while (from < to && toFolded[from] < 0)
        {
            from++;
        }

        while (to > from && toFolded[to] < 0)
        {
            to--;
        }

        if (toFolded[from] >= 0 && toFolded[to] >= 0)
        {
            matches.Add(new Match(toFolded[from], toFolded[to] + 1, uses));
        }
    }

    /// <summary>Anchors found in a message: the folded index and the patterns of each.</summary>
    private struct AnchorList : IDisposable
    {
        public (int At, int[] Patterns)[] Items;
        public int Count;

        public void Add(int at, int[] patterns)
        {
            Items ??= ArrayPool<(int, int[])>.Shared.Rent(16);
            if (Count == Items.Length)
            {
                var bigger = ArrayPool<(int, int[])>.Shared.Rent(Count * 2);
                Items.AsSpan(0, Count).CopyTo(bigger);
                ArrayPool<(int, int[])>.Shared.Return(Items, clearArray: true);
                Items = bigger;
            }

            Items[Count++] = (at, patterns);
        }

        public void Dispose()
        {
            if (Items is not null)
            {
                ArrayPool<(int, int[])>.Shared.Return(Items, clearArray: true);
                Items = null!;
            }
        }
    }

    /// <summary>
    /// The folded message as words, so that patterns see "you | will | be | arrested". Between two kept characters the
    /// view puts a sentence mark where a sentence ended, a space where the original had a space, an apostrophe or other
    /// separating punctuation, and nothing where a word was only broken up by joining marks ("po-lice", "p.o.l.i.c.e",
    /// "i*d*i*o*t"); a run of three or more single letters is one word too ("a r r e s t e d").
    /// <paramref name="toFolded"/> maps each view character to its folded index (-1 for the marks).
    /// </summary>
    // A word break made by an apostrophe, which ends a run of spelled-out letters.
    private const char Apostrophe = '\'';

    // The shortest run of single letters read as one spelled-out word ("p o l i c e", not "u r a").
    private const int MinimumSpelledOut = 4;

    /// <param name="sentenceOf">Set to the sentence of each folded index, counted from 0.</param>
    /// <param name="sentenceStart">Set to the view index where each sentence starts.</param>
    /// <param name="sentences">How many sentences the view holds.</param>
    private static int WordView(string text, ref FoldBuffer folded, char[] view, int[] toFolded, int[] sentenceOf, int[] sentenceStart, out int sentences)
    {
        var count = folded.Count;
        var separators = ArrayPool<char>.Shared.Rent(count);
        try
        {
            for (var k = 1; k < count; k++)
            {
                separators[k] = folded.Gap[k] == TextFolder.NoGap ? '\0' : Separator(text, folded.Origin[k - 1] + 1, folded.Origin[k]);
            }

            // Runs of single letters spelled out are joined into one word; an apostrophe ends a run ("I'm a u").
            var runStart = -1;
            var runLength = 0;
            for (var k = 0; k <= count; k++)
            {
                var single = k < count && TextFolder.IsLatin(folded.Chars[k])
                    && (k == 0 || folded.Gap[k] != TextFolder.NoGap)
                    && (k + 1 == count || folded.Gap[k + 1] != TextFolder.NoGap);
                if (single && (runLength == 0 || separators[k] != Apostrophe))
                {
                    runStart = runLength == 0 ? k : runStart;
                    runLength++;
                    continue;
                }

                if (runLength >= MinimumSpelledOut)
                {
                    for (var j = runStart + 1; j < runStart + runLength; j++)
                    {
                        separators[j] = '\0';
                    }
                }

                (runStart, runLength) = single ? (k, 1) : (-1, 0);
            }

            var n = 0;
            var sentence = 0;
            sentenceStart[0] = 0;
            for (var k = 0; k < count; k++)
            {
                if (k > 0 && separators[k] != '\0')
                {
                    view[n] = separators[k] == Apostrophe ? LexiconPattern.WordBreak : separators[k];
                    toFolded[n++] = -1;
                    if (separators[k] == LexiconPattern.SentenceBreak)
                    {
                        sentenceStart[++sentence] = n;
                    }
                }

                view[n] = folded.Chars[k];
                toFolded[n++] = k;
                sentenceOf[k] = sentence;
            }

            sentences = sentence + 1;
            return n;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(separators);
        }
    }

    /// <summary>A capitalised word of one or two letters before a full stop ("Mr.", "U.S.") ends no sentence.</summary>
    private static bool Abbreviation(string text, int dot)
    {
        var start = dot;
        while (start > 0 && char.IsLetter(text[start - 1]))
        {
            start--;
        }

        return dot - start is 1 or 2 && char.IsUpper(text[start]);
    }

    /// <summary>What the dropped characters between two kept ones are in the word view: a sentence end, a word break or nothing.</summary>
    private static char Separator(string text, int from, int to)
    {
        var separator = '\0';
        for (var i = from; i < to; i++)
        {
            var c = text[i];
            if (i == from && char.IsLowSurrogate(c))
            {
                continue;
            }

            switch (c)
            {
                case '!' or '?' or ';' or '\n' or '\r' or '。' or '！' or '？' or '；':
                    return LexiconPattern.SentenceBreak;
                case '.' when (i + 1 >= text.Length || char.IsWhiteSpace(text[i + 1])) && !Abbreviation(text, i):
                    return LexiconPattern.SentenceBreak;
                case '-' or '.' or '*' or '_' or '·' or '•' or '~' or '+' or '#' or '\u00AD':
                    break;
                case '\'' or '\u2019':
                    separator = separator == '\0' ? Apostrophe : separator;
                    break;
                default:
                    separator = LexiconPattern.WordBreak;
                    break;
            }
        }

        return separator;
    }

    /// <summary>
    /// Whether a Latin match keeps the term's words: inside each word of the term the message may put no whitespace
    /// ("police"), punctuation anywhere ("po-lice", "p.o.l.i.c.e") or whitespace between every letter ("p o l i c e"),
    /// but not whitespace at one place only, which is two words of the message meeting by chance ("Re: pay" is not
    /// "repay").
    /// </summary>
    private static bool WordsHold(byte[] gaps, int start, LexiconEntry entry)
    {
        var wordGaps = entry.WordGaps;
        var letters = 0;
        var gapped = 0;
        var spaced = false;
        for (var k = 1; k <= wordGaps.Length; k++)
        {
            if (k == wordGaps.Length || wordGaps[k])
            {
                if (spaced && gapped < letters)
                {
                    return false;
                }

                (letters, gapped, spaced) = (0, 0, false);
                continue;
            }

            var gap = gaps[start + k];
            letters++;
            gapped += gap == TextFolder.NoGap ? 0 : 1;
            spaced |= gap == TextFolder.WordGap;
        }

        return true;
    }

    private IReadOnlyList<ContentFinding> Report(string text, ContentContext context, ref FoldBuffer folded, ref MatchList matches)
    {
        List<ContentFinding>? findings = null;
        var optOutSeen = false;
        Span<int> reportedEnd = stackalloc int[CategoryCount];
        var all = matches.Items.AsSpan(0, matches.Count);
        foreach (var match in all)
        {
            foreach (var use in match.Uses)
            {
                switch (use.Role)
                {
                    case TermRole.OptOut:
                        optOutSeen = true;
                        continue;
                    case TermRole.Exception:
                        continue;
                }

                if (use.Rule.Category == ContentCategory.DebtDisclosure && !context.ToThirdParty)
                {
                    continue;
                }

                // One finding per stretch of wording: a term overlapping one already reported for its category (which
                // started first, or at the same place and is longer) adds nothing.
                var category = (int)use.Rule.Category;
                if (match.Start < reportedEnd[category] || Excepted(all, match, use.Rule.Category))
                {
                    continue;
                }

                reportedEnd[category] = match.End;

                var originStart = folded.Origin[match.Start];
                var lastOrigin = folded.Origin[match.End - 1];
                var originEnd = lastOrigin + (char.IsHighSurrogate(text[lastOrigin]) && lastOrigin + 1 < text.Length ? 2 : 1);
                (findings ??= []).Add(new ContentFinding(use.Rule.Category, use.Rule.RuleId, use.Rule.Citation, use.Rule.Severity,
                    use.Display, Excerpt(text, originStart, originEnd), originStart, originEnd - originStart));
            }
        }

        if (context.RequireOptOutNotice && !optOutSeen)
        {
            var rule = lexicon.OptOutRule ?? DefaultOptOut;
            (findings ??= []).Add(new ContentFinding(ContentCategory.MissingOptOut, rule.RuleId, rule.Citation, rule.Severity, "", "", 0, 0));
        }

        return findings ?? (IReadOnlyList<ContentFinding>)[];
    }

    private static readonly int CategoryCount = Enum.GetValues<ContentCategory>().Max(c => (int)c) + 1;

    // Used only when no lexicon file declares the missing_opt_out rule.
    private static readonly ContentRule DefaultOptOut = new(ContentCategory.MissingOptOut, "CONTENT.missing-opt-out", "12 CFR 1006.6(e)", Severity.Medium);

    /// <summary>True when an exception of the category overlaps the match ("not going to | sue you", "we are | not affiliated with any court").</summary>
    private static bool Excepted(ReadOnlySpan<Match> all, Match match, ContentCategory category)
    {
        foreach (var other in all)
        {
            if (other.Start >= match.End)
            {
                break;
            }

            if (other.End <= match.Start)
            {
                continue;
            }

            foreach (var use in other.Uses)
            {
                if (use.Rule.Category == category && use.Role == TermRole.Exception)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The match with context on both sides, never longer than <see cref="MaxExcerptLength"/> nor splitting a surrogate pair.</summary>
    internal static string Excerpt(string text, int start, int end)
    {
        var length = end - start;
        if (length >= MaxExcerptLength)
        {
            return text.Substring(start, TrimSurrogate(text, start + MaxExcerptLength) - start);
        }

        // Context split evenly, and what one side cannot use (the text ends) goes to the other.
        var from = Math.Max(0, start - ((MaxExcerptLength - length) / 2));
        var to = Math.Min(text.Length, from + MaxExcerptLength);
        from = Math.Max(0, to - MaxExcerptLength);
        if (from > 0 && char.IsLowSurrogate(text[from]))
        {
            from++;
        }

        return text[from..TrimSurrogate(text, to)];
    }

    private static int TrimSurrogate(string text, int end) =>
        end < text.Length && end > 0 && char.IsHighSurrogate(text[end - 1]) ? end - 1 : end;

    private readonly record struct Match(int Start, int End, TermUse[] Uses)
    {
        public int Length => End - Start;
    }

    private struct MatchList : IDisposable
    {
        public Match[] Items;
        public int Count;

        public void Add(Match match)
        {
            Items ??= ArrayPool<Match>.Shared.Rent(16);
            if (Count == Items.Length)
            {
                var bigger = ArrayPool<Match>.Shared.Rent(Count * 2);
                Items.AsSpan(0, Count).CopyTo(bigger);
                ArrayPool<Match>.Shared.Return(Items, clearArray: true);
                Items = bigger;
            }

            Items[Count++] = match;
        }

        public void Dispose()
        {
            if (Items is not null)
            {
                ArrayPool<Match>.Shared.Return(Items, clearArray: true);
                Items = null!;
            }
        }
    }
}
