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
