using System.Buffers;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Content;

/// <summary>
/// Checks a collection message's wording against a lexicon: threats, abuse, impersonation, debt disclosure to third
/// parties, public shaming, pressure to borrow and a missing opt-out notice. Thread-safe; one folding pass and one
/// multi-string search per message.
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
                    matches.Add(new Match(start, end, entry));
                }
            }

            position = start + 1;
        }
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
        var all = matches.Items.AsSpan(0, matches.Count);
        foreach (var match in all)
        {
            foreach (var use in match.Entry.Uses)
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

                if (Covered(all, match, use.Rule.Category))
                {
                    continue;
                }

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

    // Used only when no lexicon file declares the missing_opt_out rule.
    private static readonly ContentRule DefaultOptOut = new(ContentCategory.MissingOptOut, "CONTENT.missing-opt-out", "12 CFR 1006.6(e)", Severity.Medium);

    /// <summary>True when an exception of the category, or a longer term of the same category, contains the match.</summary>
    private static bool Covered(ReadOnlySpan<Match> all, Match match, ContentCategory category)
    {
        foreach (var other in all)
        {
            if (other.Start > match.Start)
            {
                break;
            }

            if (other.End < match.End || (other.Start == match.Start && other.End == match.End && ReferenceEquals(other.Entry, match.Entry)))
            {
                continue;
            }

            foreach (var use in other.Entry.Uses)
            {
                if (use.Rule.Category == category && (use.Role == TermRole.Exception || other.Length > match.Length))
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

    private readonly record struct Match(int Start, int End, LexiconEntry Entry)
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
