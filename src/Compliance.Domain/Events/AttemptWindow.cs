using System.Runtime.InteropServices;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Events;

/// <summary>A stored attempt with the ids that tie it to a gate reservation (<see cref="AttemptId"/>) and a dialer's call.</summary>
public interface IAttemptRow
{
    string AttemptId { get; }

    string CallId { get; }

    Attempt Attempt { get; }
}

/// <summary>
/// One borrower's window state: the attempts its rules' windows can reach, kept in time order (equal times in the order
/// they were added), with their ids and call ids indexed. What the monitor asks of it costs a binary search, not a pass
/// over the borrower's history: the attempts before an event (<see cref="Before"/>), a reservation by id, a call by call
/// id; and the rules, handed a time-ordered history, read only their own windows (<see cref="TimeOrdered.Range"/>).
/// Events arriving out of order are inserted where they belong; <see cref="Prune"/> drops what the windows no longer reach.
/// The counting rules ask for the instants of the attempts they count (<see cref="Counted"/>), which the window keeps per
/// key from then on. Not thread-safe, reads included (a rule's first question builds its key): one borrower's events are
/// judged by one lane at a time.
/// </summary>
public sealed class AttemptWindow<TRow> : IReadOnlyList<TRow>
    where TRow : IAttemptRow
{
    private readonly List<TRow> _rows;
    // Id -> time of the row: the row is found by binary search to its time, then among rows of that instant.
    private readonly Dictionary<string, DateTimeOffset> _ids;
    // Call id -> time of the latest row with it.
    private readonly Dictionary<string, DateTimeOffset> _calls;
    // Per key a rule has asked for, the instants of the rows it matches, in order: kept up to date by every change, so a
    // rule counts its attempts in a span by binary search. Built on first use, by one pass.
    private Dictionary<CountKey, Instants>? _counted;
    private static readonly Dictionary<CountKey, Instants> NoKeys = [];
    private long _asked;

    public AttemptWindow(IEnumerable<TRow>? rows = null)
    {
        _rows = rows is null ? [] : [.. rows];
        // Stable: rows of one instant keep the order they came in.
        if (!IsSorted(_rows))
        {
            var ordered = _rows.Select((r, i) => (r, i)).OrderBy(x => x.r.Attempt.At).ThenBy(x => x.i).Select(x => x.r).ToList();
            _rows.Clear();
            _rows.AddRange(ordered);
        }

        _ids = new Dictionary<string, DateTimeOffset>(_rows.Count, StringComparer.Ordinal);
        _calls = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var row in _rows)
        {
            Index(row);
        }
    }

    public int Count => _rows.Count;

    public TRow this[int index] => _rows[index];

    /// <summary>The earliest instant held, or null when empty.</summary>
    public DateTimeOffset? Earliest => _rows.Count == 0 ? null : _rows[0].Attempt.At;

    /// <summary>Adds a row where its time puts it (after rows of the same instant).</summary>
    public void Add(TRow row)
    {
        var at = row.Attempt.At;
        var index = _rows.Count == 0 || _rows[^1].Attempt.At <= at ? _rows.Count : UpperBound(at);
        _rows.Insert(index, row);
        Index(row);
        foreach (var (key, (times, _)) in _counted ?? NoKeys)
        {
            if (key.Matches(row.Attempt))
            {
                times.Insert(UpperBound(times, at), at);
            }
        }
    }

    /// <summary>Whether a row with this attempt id is held.</summary>
    public bool Contains(string attemptId) => IndexOf(attemptId) >= 0;

    /// <summary>The position of the row with this attempt id, or -1.</summary>
    public int IndexOf(string attemptId)
    {
        if (!_ids.TryGetValue(attemptId, out var at))
        {
            return -1;
        }

        var span = CollectionsMarshal.AsSpan(_rows);
        for (var i = LowerBound(at); i < span.Length && span[i].Attempt.At == at; i++)
        {
            if (span[i].AttemptId == attemptId)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Replaces the row with the same attempt id as <paramref name="row"/> (a confirmed reservation, a call's outcome),
    /// or adds it when none is held. A row that moves in time is moved to its place.
    /// </summary>
    public void Upsert(TRow row)
    {
        var index = IndexOf(row.AttemptId);
        if (index >= 0 && _rows[index].Attempt.At == row.Attempt.At)
        {
            var old = _rows[index].Attempt;
            _rows[index] = row;
            Index(row);
            foreach (var (key, (times, _)) in _counted ?? NoKeys)
            {
                var was = key.Matches(old);
                var now = key.Matches(row.Attempt);
                if (was && !now)
                {
                    times.RemoveAt(LowerBound(times, old.At));
                }
                else if (now && !was)
                {
                    times.Insert(UpperBound(times, old.At), old.At);
                }
            }

            return;
        }

        if (index >= 0)
        {
            var old = _rows[index].Attempt;
            _rows.RemoveAt(index);
            foreach (var (key, (times, _)) in _counted ?? NoKeys)
            {
                if (key.Matches(old))
                {
                    times.RemoveAt(LowerBound(times, old.At));
                }
            }
        }

        Add(row);
    }

    /// <summary>The latest row with this call id (of the account, when given).</summary>
    public bool TryFindCall(string callId, string? accountId, out TRow row)
    {
        row = default!;
        if (callId.Length == 0 || !_calls.TryGetValue(callId, out var at))
        {
            return false;
        }

        var span = CollectionsMarshal.AsSpan(_rows);
        for (var i = UpperBound(at) - 1; i >= 0; i--)
        {
            if (span[i].CallId == callId && (accountId is null || span[i].Attempt.AccountId == accountId))
            {
                row = span[i];
                return true;
            }
        }

        return false;
    }

    /// <summary>Drops the rows before <paramref name="since"/>; returns how many.</summary>
    public int Prune(DateTimeOffset since)
    {
        if (_rows.Count == 0 || _rows[0].Attempt.At >= since)
        {
            return 0;
        }

        var cut = LowerBound(since);
        for (var i = 0; i < cut; i++)
        {
            var row = _rows[i];
            // Only where the index still points at this instant: an id re-added later in time keeps its entry.
            if (_ids.TryGetValue(row.AttemptId, out var at) && at < since)
            {
                _ids.Remove(row.AttemptId);
            }

            if (row.CallId.Length > 0 && _calls.TryGetValue(row.CallId, out var callAt) && callAt < since)
            {
                _calls.Remove(row.CallId);
            }
        }

        _rows.RemoveRange(0, cut);
        foreach (var (times, _) in (_counted ?? NoKeys).Values)
        {
            times.RemoveRange(0, LowerBound(times, since));
        }

        return cut;
    }

    /// <summary>
    /// The attempts at or before <paramref name="at"/>, without the row <paramref name="excluded"/> (the reservation an
    /// event confirms), in time order, read in place: valid until the window changes. <paramref name="view"/> is reused.
    /// </summary>
    public ITimeOrderedAttempts Before(DateTimeOffset at, string? excluded, View view)
    {
        var end = _rows.Count == 0 || _rows[^1].Attempt.At <= at ? _rows.Count : UpperBound(at);
        var skip = excluded is null ? -1 : IndexOf(excluded);
        view.Set(this, end, skip < end ? skip : -1);
        return view;
    }

    /// <summary>
    /// The instants, in order, of the rows <paramref name="key"/> matches: built by one pass the first time a rule asks,
    /// then kept up to date by every change. A window keeps at most <see cref="MaxCountKeys"/> keys (a policy's counting
    /// rules for the borrower's debts and numbers); past that the key asked for least recently is dropped.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> Counted(in CountKey key) => CountedList(key);

    /// <summary>The most keys a window keeps instants for.</summary>
    public const int MaxCountKeys = 16;

    private List<DateTimeOffset> CountedList(in CountKey key)
    {
        _counted ??= [];
        if (_counted.TryGetValue(key, out var kept))
        {
            kept.Asked = ++_asked;
            return kept.Times;
        }

        if (_counted.Count >= MaxCountKeys)
        {
            _counted.Remove(_counted.MinBy(k => k.Value.Asked).Key);
        }

        List<DateTimeOffset> times = [];
        foreach (var row in _rows)
        {
            if (key.Matches(row.Attempt))
            {
                times.Add(row.Attempt.At);
            }
        }

        _counted[key] = new Instants(times) { Asked = ++_asked };
        return times;
    }

    /// <summary>The instants kept for one key, and when a rule last asked for them.</summary>
    private sealed class Instants(List<DateTimeOffset> times)
    {
        public List<DateTimeOffset> Times { get; } = times;

        public long Asked { get; set; }

        public void Deconstruct(out List<DateTimeOffset> times, out long asked) => (times, asked) = (Times, Asked);
    }

    public IEnumerator<TRow> GetEnumerator() => _rows.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Rough bytes held per row (the row, its index entries), for sizing caches.</summary>
    public const int BytesPerRow = 200;

    /// <summary>A prefix of a window without one row, as the rules read it. One per scoring lane, reused.</summary>
    public sealed class View : ICountedAttempts
    {
        private AttemptWindow<TRow>? _window;
        private List<TRow> _rows = [];
        private int _skip = -1;
        private int _end;

        public int Count { get; private set; }

        public Attempt this[int index] => _rows[_skip >= 0 && index >= _skip ? index + 1 : index].Attempt;

        internal void Set(AttemptWindow<TRow> window, int end, int skip)
        {
            _window = window;
            _rows = window._rows;
            _skip = skip;
            _end = end;
            Count = skip >= 0 ? end - 1 : end;
        }

        /// <summary>The window's instants for the key, cut where the view ends and without the skipped row's.</summary>
        public SortedTimes Counted(in CountKey key)
        {
            var times = _window?.CountedList(key) ?? [];
            var count = _end == 0 ? 0 : _end == _rows.Count ? times.Count : UpperBound(times, _rows[_end - 1].Attempt.At);

            var skip = _skip >= 0 && key.Matches(_rows[_skip].Attempt) ? LowerBound(times, _rows[_skip].Attempt.At) : -1;
            return new SortedTimes(times, count, skip);
        }

        public IEnumerator<Attempt> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private void Index(TRow row)
    {
        var at = row.Attempt.At;
        _ids[row.AttemptId] = at;
        if (row.CallId.Length > 0 && (!_calls.TryGetValue(row.CallId, out var latest) || latest <= at))
        {
            _calls[row.CallId] = at;
        }
    }

    private static int LowerBound(List<DateTimeOffset> times, DateTimeOffset at)
    {
        var span = CollectionsMarshal.AsSpan(times);
        int lo = 0, hi = span.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (span[mid] < at)
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

    private static int UpperBound(List<DateTimeOffset> times, DateTimeOffset at)
    {
        var span = CollectionsMarshal.AsSpan(times);
        int lo = 0, hi = span.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (span[mid] <= at)
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

    private static bool IsSorted(List<TRow> rows)
    {
        for (var i = 1; i < rows.Count; i++)
        {
            if (rows[i].Attempt.At < rows[i - 1].Attempt.At)
            {
                return false;
            }
        }

        return true;
    }

    private int LowerBound(DateTimeOffset at)
    {
        var span = CollectionsMarshal.AsSpan(_rows);
        int lo = 0, hi = span.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (span[mid].Attempt.At < at)
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

    private int UpperBound(DateTimeOffset at)
    {
        var span = CollectionsMarshal.AsSpan(_rows);
        int lo = 0, hi = span.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (span[mid].Attempt.At <= at)
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
