namespace Compliance.Domain.Rules;

/// <summary>
/// A history whose attempts are in time order (earliest first, equal times in the order they were added). The rules
/// read such a history through <see cref="TimeOrdered.Range"/>: each looks only at the attempts inside its own window,
/// found by binary search, instead of every attempt the borrower has.
/// </summary>
public interface ITimeOrderedAttempts : IReadOnlyList<Attempt>
{
}

/// <summary>Binary search over histories that are in time order; any other history is read whole.</summary>
public static class TimeOrdered
{
    /// <summary>
    /// Indices [From, To) that hold every attempt with <c>from &lt;= At &lt;= to</c> (callers still test their own
    /// strict bounds). A history not known to be in time order gives its whole length.
    /// </summary>
    public static (int From, int To) Range(IReadOnlyList<Attempt> history, DateTimeOffset from, DateTimeOffset to)
    {
        if (history is not ITimeOrderedAttempts)
        {
            return (0, history.Count);
        }

        return (LowerBound(history, from), UpperBound(history, to));
    }

    /// <summary>The first index whose attempt is at or after <paramref name="at"/>.</summary>
    public static int LowerBound(IReadOnlyList<Attempt> sorted, DateTimeOffset at)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (sorted[mid].At < at)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The first index whose attempt is after <paramref name="at"/>.</summary>
    public static int UpperBound(IReadOnlyList<Attempt> sorted, DateTimeOffset at)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (sorted[mid].At <= at)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}

/// <summary>A list of attempts the caller keeps in time order (what <see cref="WrongNumbers.Apply(IReadOnlyList{Attempt})"/> returns for a time-ordered history).</summary>
internal sealed class TimeOrderedList(List<Attempt> attempts) : ITimeOrderedAttempts
{
    public int Count => attempts.Count;

    public Attempt this[int index] => attempts[index];

    public IEnumerator<Attempt> GetEnumerator() => attempts.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Which attempts a counting rule counts, as far as the attempt alone tells: its channel, destination use, outcome and
/// destination class in the rule's sets (bit <c>1 &lt;&lt; value</c> of each enum), about one debt or any
/// (<see cref="AccountId"/> null), to one number or any (<see cref="DestinationHash"/> null). A window that keeps the
/// instants of the attempts a key matches (<see cref="ICountedAttempts"/>) lets the rule count by binary search.
/// </summary>
public readonly record struct CountKey(ulong Channels, ulong Uses, ulong Outcomes, ulong Classes, string? AccountId, string? DestinationHash)
{
    /// <summary>Every value of an enum.</summary>
    public const ulong Any = ulong.MaxValue;

    /// <summary>Own contact points and related parties: the consumer.</summary>
    public const ulong Consumer = (1UL << (int)DestinationClass.Own) | (1UL << (int)DestinationClass.RelatedParty);

    /// <summary>The set as a mask; values past 63 (unknown to this build) are in no mask.</summary>
    public static ulong Mask(bool[] set)
    {
        var mask = 0UL;
        for (var i = 0; i < set.Length && i < 64; i++)
        {
            mask |= set[i] ? 1UL << i : 0;
        }

        return mask;
    }

    /// <summary>The values as a mask.</summary>
    public static ulong Mask(params AttemptOutcome[] outcomes)
    {
        var mask = 0UL;
        foreach (var outcome in outcomes)
        {
            mask |= 1UL << (int)outcome;
        }

        return mask;
    }

    public bool Matches(in Attempt a) =>
        In(Channels, (int)a.Channel) && In(Uses, (int)a.DestinationUse) && In(Outcomes, (int)a.Outcome) && In(Classes, (int)a.DestinationClass)
        && (AccountId is null || string.Equals(a.AccountId, AccountId, StringComparison.Ordinal))
        && (DestinationHash is null || string.Equals(a.DestinationHash, DestinationHash, StringComparison.Ordinal));

    private static bool In(ulong mask, int value) => (uint)value < 64 && ((mask >> value) & 1) != 0;
}

/// <summary>
/// A time-ordered history that also keeps, per <see cref="CountKey"/>, the instants of the attempts the key matches: a
/// rule counts its attempts in a span by two binary searches instead of reading every attempt in it.
/// </summary>
public interface ICountedAttempts : ITimeOrderedAttempts
{
    /// <summary>The instants, in order, of the attempts in this history that <paramref name="key"/> matches.</summary>
    SortedTimes Counted(in CountKey key);
}

/// <summary>
/// Instants in ascending order, read in place from a window's index: its first <c>count</c> entries without the entry at
/// <c>skip</c> (the reservation an event confirms). Valid until the window changes.
/// </summary>
public readonly struct SortedTimes
{
    private readonly List<DateTimeOffset> _times;
    private readonly int _skip;

    internal SortedTimes(List<DateTimeOffset> times, int count, int skip)
    {
        _times = times;
        _skip = skip;
        Count = skip >= 0 ? count - 1 : count;
    }

    public int Count { get; }

    public DateTimeOffset this[int index] => _times[_skip >= 0 && index >= _skip ? index + 1 : index];

    /// <summary>The first index whose instant is at or after <paramref name="at"/>.</summary>
    public int LowerBound(DateTimeOffset at)
    {
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (this[mid] < at)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The first index whose instant is after <paramref name="at"/>.</summary>
    public int UpperBound(DateTimeOffset at)
    {
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (this[mid] <= at)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
