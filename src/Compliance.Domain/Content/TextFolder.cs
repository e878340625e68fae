using System.Buffers;
using System.Globalization;
using System.Text;

namespace Compliance.Domain.Content;

/// <summary>
/// Folds text into the form the lexicon is matched in, remembering for each folded character the original index it
/// came from. Messages and lexicon terms go through the same folding, so evasions collapse onto the plain term.
/// </summary>
/// <remarks>
/// Per original character (or surrogate pair):
/// <list type="number">
/// <item>Unicode compatibility decomposition (NFKD): full-width and styled letters become ASCII, ligatures split,
/// Kangxi radicals and CJK compatibility ideographs become unified ideographs; accents become combining marks.</item>
/// <item>Lower-case (invariant), then the lexicon's variant table (traditional to simplified Chinese, Cyrillic and Greek
/// look-alikes to Latin).</item>
/// <item>Letters and digits are kept. Combining marks and invisible format characters (zero-width space, joiners, soft
/// hyphen) vanish. Everything else (spaces, punctuation, symbols, emoji) vanishes too, but leaves a gap mark on the next
/// kept character: gaps are how Latin word boundaries survive the squeeze ("the police" vs "xpolice"). A gap that
/// held whitespace is a word gap, any other a mark gap ("po-lice").</item>
/// <item>Inside a Latin token (a gap-free run holding an ASCII letter, or a one-character token spelled out next to
/// another one-character Latin token, as in "p 0 l 1 c e") look-alike digits and symbols become letters:
/// 0→o, 1→i, 3→e, 4→a, 5→s, 7→t, 8→b, @→a, $→s. Digits elsewhere ("500", "逾期3天") stay digits.</item>
/// <item>Finally the letter l folds onto i, so 1, l and i are one class in terms and messages alike.</item>
/// </list>
/// </remarks>
internal sealed class TextFolder
{
    private const int ScratchLength = 32;
    // Indexed by character: its variant, or '\0'. A flat table because it is read for every non-ASCII character.
    private readonly char[] variants = new char[char.MaxValue + 1];

    public TextFolder(IReadOnlyDictionary<char, char> variants)
    {
        foreach (var (from, to) in variants)
        {
            this.variants[from] = to;
        }
    }

    public static bool IsLatin(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);

    /// <summary>Gap marks: nothing dropped before the character, only punctuation or symbols, or whitespace.</summary>
    public const byte NoGap = 0, MarkGap = 1, WordGap = 2;

    /// <summary>Folds <paramref name="text"/> into <paramref name="buffer"/> (which is reset first).</summary>
    public void Fold(ReadOnlySpan<char> text, ref FoldBuffer buffer)
    {
        buffer.Reset(text.Length);
        Span<char> scratch = stackalloc char[ScratchLength];
        var gap = NoGap;
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            var unit = 1;
            if (c < 0x80)
            {
                if (char.IsAsciiLetterOrDigit(c))
                {
                    buffer.Add(char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c, i, gap);
                    gap = NoGap;
                }
                else if (c is '@' or '$')
                {
                    buffer.Add(c, i, gap);
                    gap = NoGap;
                }
                else
                {
                    gap = Widen(gap, c);
                }

                i++;
                continue;
            }

            scoped ReadOnlySpan<char> decomposed;
            if (c is >= '\uFF01' and <= '\uFF5E')
            {
                // Full-width ASCII: what NFKD does, without the call.
                scratch[0] = (char)(c - 0xFEE0);
                decomposed = scratch[..1];
            }
            else if (c is >= '\u4E00' and <= '\u9FFF')
            {
                // Unified ideographs have no decomposition and no case.
                buffer.Add(variants[c] is var v && v != '\0' ? v : c, i, gap);
                gap = NoGap;
                i++;
                continue;
            }
            else if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    unit = 2;
                    decomposed = Decompose(text.Slice(i, 2), scratch);
                }
                else
                {
                    decomposed = [];
                    gap = Widen(gap, c);
                }
            }
            else if (IsSeparatorOrInvisible(c, out var invisible))
            {
                // Punctuation and spaces decompose only to punctuation and spaces, so the costly NFKD call is skipped.
                gap = invisible ? gap : Widen(gap, c);
                i++;
                continue;
            }
            else
            {
                decomposed = Decompose(text.Slice(i, 1), scratch);
            }

            foreach (var d in decomposed)
            {
                switch (Classify(d))
                {
                    case Kind.Keep:
                        var lower = char.ToLowerInvariant(d);
                        if (variants[lower] is var variant && variant != '\0')
                        {
                            lower = variant;
                        }

                        buffer.Add(lower, i, gap);
                        gap = NoGap;
                        break;
                    case Kind.Separator:
                        gap = Widen(gap, d);
                        break;
                    case Kind.Invisible:
                        break;
                }
            }

            i += unit;
        }

        MapLookAlikes(ref buffer);
    }

    /// <summary>Folds a lexicon term; the result is what the search looks for.</summary>
    public string FoldTerm(string term) => FoldTerm(term, out _);

    /// <summary>Folds a lexicon term, also telling before which folded characters the term itself has a word gap.</summary>
    public string FoldTerm(string term, out bool[] wordGaps)
    {
        var buffer = new FoldBuffer();
        try
        {
            Fold(term, ref buffer);
            wordGaps = new bool[buffer.Count];
            for (var k = 1; k < buffer.Count; k++)
            {
                wordGaps[k] = buffer.Gap[k] != NoGap;
            }

            return new string(buffer.Chars.AsSpan(0, buffer.Count));
        }
        finally
        {
            buffer.Dispose();
        }
    }

    private static bool IsSeparatorOrInvisible(char c, out bool invisible)
    {
        var category = CharUnicodeInfo.GetUnicodeCategory(c);
        invisible = category is UnicodeCategory.Format or UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark;
        return invisible || category is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Control or UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static byte Widen(byte gap, char separator) => char.IsWhiteSpace(separator) ? WordGap : Math.Max(gap, MarkGap);

    private static ReadOnlySpan<char> Decompose(ReadOnlySpan<char> unit, Span<char> scratch)
    {
        if (unit.IsNormalized(NormalizationForm.FormKD))
        {
            return unit;
        }

        // The longest decompositions (U+FDFA) exceed the scratch; such characters are not letters of any term.
        return unit.TryNormalize(scratch, out var written, NormalizationForm.FormKD) ? scratch[..written] : [];
    }

    private enum Kind
    {
        Keep,
        Separator,
        Invisible,
    }

    private static Kind Classify(char c) => CharUnicodeInfo.GetUnicodeCategory(c) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Keep,
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format => Kind.Invisible,
        _ => c is '@' or '$' ? Kind.Keep : Kind.Separator,
    };

    private static void MapLookAlikes(ref FoldBuffer buffer)
    {
        var chars = buffer.Chars;
        var count = buffer.Count;
        var previousLength = 0;
        var previousLatin = false;
        var start = 0;
        while (start < count)
        {
            var end = start + 1;
            while (end < count && buffer.Gap[end] == NoGap)
            {
                end++;
            }

            var latin = false;
            for (var k = start; k < end && !latin; k++)
            {
                latin = char.IsAsciiLetterLower(chars[k]);
            }

            var length = end - start;
            var nextIsSpelledLatin = end < count && (end + 1 == count || buffer.Gap[end + 1] != NoGap) && char.IsAsciiLetterLower(chars[end]);
            var spelledOut = length == 1 && ((previousLength == 1 && previousLatin) || nextIsSpelledLatin);
            if (latin || spelledOut)
            {
                for (var k = start; k < end; k++)
                {
                    chars[k] = chars[k] switch
                    {
                        '0' => 'o',
                        '1' => 'i',
                        '3' => 'e',
                        '4' or '@' => 'a',
                        '5' or '$' => 's',
                        '7' => 't',
                        '8' => 'b',
                        var other => other,
                    };
                }
            }

            previousLength = length;
            previousLatin = latin;
            start = end;
        }

        for (var k = 0; k < count; k++)
        {
            if (chars[k] == 'l')
            {
                chars[k] = 'i';
            }
        }
    }
}

/// <summary>Pooled arrays for one folding: the folded characters, each one's original index, and its gap mark.</summary>
internal struct FoldBuffer : IDisposable
{
    public char[] Chars;
    public int[] Origin;
    public byte[] Gap;
    public int Count;

    public void Reset(int capacity)
    {
        Count = 0;
        if (Chars is null || Chars.Length < capacity)
        {
            Dispose();
            Rent(Math.Max(capacity, 16));
        }
    }

    public void Add(char c, int origin, byte gap)
    {
        if (Count == Chars.Length)
        {
            Grow();
        }

        Chars[Count] = c;
        Origin[Count] = origin;
        Gap[Count] = Count == 0 ? TextFolder.WordGap : gap;
        Count++;
    }

    public void Dispose()
    {
        if (Chars is not null)
        {
            // Cleared: message text should not linger in shared pools.
            ArrayPool<char>.Shared.Return(Chars, clearArray: true);
            ArrayPool<int>.Shared.Return(Origin);
            ArrayPool<byte>.Shared.Return(Gap);
            Chars = null!;
            Origin = null!;
            Gap = null!;
        }
    }

    private void Rent(int capacity)
    {
        Chars = ArrayPool<char>.Shared.Rent(capacity);
        Origin = ArrayPool<int>.Shared.Rent(capacity);
        Gap = ArrayPool<byte>.Shared.Rent(capacity);
    }

    private void Grow()
    {
        var (chars, origin, gap) = (Chars, Origin, Gap);
        Rent(chars.Length * 2);
        chars.AsSpan(0, Count).CopyTo(Chars);
        origin.AsSpan(0, Count).CopyTo(Origin);
        gap.AsSpan(0, Count).CopyTo(Gap);
        ArrayPool<char>.Shared.Return(chars, clearArray: true);
        ArrayPool<int>.Shared.Return(origin);
        ArrayPool<byte>.Shared.Return(gap);
    }
}
