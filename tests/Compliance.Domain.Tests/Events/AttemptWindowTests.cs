using Compliance.Domain.Events;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Tests.Events;

/// <summary>
/// A borrower's window state: attempts kept in time order whatever order they arrive in, found by id and call id,
/// read before an instant without the reservation an event confirms, and pruned exactly at the window's edge.
/// </summary>
public sealed class AttemptWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 2, 15, 0, 0, TimeSpan.Zero);

    private static WindowRow At(string id, int minutes, string callId = "", string account = "A1", AttemptOutcome outcome = AttemptOutcome.NoAnswer) =>
        new(id, callId, new Attempt(T0.AddMinutes(minutes), account, "C1", Channel.VoiceCall, "hash-mobile", DestinationClass.Own, "",
            ContactPointUse.Mobile, ContactPurpose.CollectDebt, outcome));

    private static string[] Ids(AttemptWindow<WindowRow> window) => [.. window.Select(r => r.AttemptId)];

    [Fact]
    public void EventsArrivingOutOfOrder_AreKeptInTimeOrder_EqualTimesInArrivalOrder()
    {
        var window = new AttemptWindow<WindowRow>();

        foreach (var row in new[] { At("c", 30), At("a", 10), At("d", 40), At("b1", 20), At("b2", 20), At("a0", -5) })
        {
            window.Add(row);
        }

        Assert.Equal(["a0", "a", "b1", "b2", "c", "d"], Ids(window));
        Assert.Equal(T0.AddMinutes(-5), window.Earliest);
    }

    [Fact]
    public void RowsReadFromTheStoreInAnyOrder_AreSortedOnce_Stably()
    {
        var window = new AttemptWindow<WindowRow>([At("c", 30), At("x1", 20), At("a", 10), At("x2", 20)]);

        Assert.Equal(["a", "x1", "x2", "c"], Ids(window));
        Assert.Equal(1, window.IndexOf("x1"));
        Assert.Equal(2, window.IndexOf("x2"));
        Assert.Equal(-1, window.IndexOf("nothing"));
    }

    [Fact]
    public void Before_HoldsTheAttemptsAtOrBeforeTheInstant_WithoutTheExcludedReservation()
    {
        var window = new AttemptWindow<WindowRow>([At("a", 10), At("dec_1", 20), At("b", 20), At("c", 30)]);
        var view = new AttemptWindow<WindowRow>.View();

        var atTwenty = window.Before(T0.AddMinutes(20), "dec_1", view);
        Assert.Equal([T0.AddMinutes(10), T0.AddMinutes(20)], atTwenty.Select(a => a.At));
        Assert.Equal(2, atTwenty.Count);

        // A reservation after the instant is not in the view anyway; nothing else is skipped for it.
        var atFifteen = window.Before(T0.AddMinutes(15), "c", view);
        Assert.Equal([T0.AddMinutes(10)], atFifteen.Select(a => a.At));

        var all = window.Before(T0.AddMinutes(30), null, view);
        Assert.Equal(4, all.Count);
        Assert.Equal(T0.AddMinutes(30), all[3].At);
    }

    [Fact]
    public void Prune_DropsWhatIsBeforeTheEdge_KeepsWhatIsAtIt_AndForgetsTheDroppedIds()
    {
        var window = new AttemptWindow<WindowRow>([At("old", -61, "call-old"), At("edge", -60, "call-edge"), At("new", 0)]);

        var dropped = window.Prune(T0.AddMinutes(-60));

        Assert.Equal(1, dropped);
        Assert.Equal(["edge", "new"], Ids(window));
        Assert.False(window.Contains("old"));
        Assert.False(window.TryFindCall("call-old", null, out _));
        Assert.True(window.TryFindCall("call-edge", null, out var edge));
        Assert.Equal("edge", edge.AttemptId);
        Assert.Equal(0, window.Prune(T0.AddMinutes(-60)));
    }

    [Fact]
    public void Upsert_ReplacesARowInPlace_AndMovesAReservationConfirmedAtAnotherTime()
    {
        var window = new AttemptWindow<WindowRow>([At("a", 10), At("dec_1", 15), At("b", 20)]);

        window.Upsert(At("a", 10, outcome: AttemptOutcome.Conversation));
        window.Upsert(At("dec_1", 25));
        window.Upsert(At("new", 5));

        Assert.Equal(["new", "a", "b", "dec_1"], Ids(window));
        Assert.Equal(AttemptOutcome.Conversation, window[1].Attempt.Outcome);
        Assert.Equal(3, window.IndexOf("dec_1"));
    }

    [Fact]
    public void TryFindCall_GivesTheLatestRowOfTheCall_OfTheAccountWhenAsked()
    {
        var window = new AttemptWindow<WindowRow>([At("p1", 10, "call-1", "A1"), At("p2", 12, "call-1", "A2"), At("p3", 20, "call-2")]);

        Assert.True(window.TryFindCall("call-1", null, out var latest));
        Assert.Equal("p2", latest.AttemptId);
        Assert.True(window.TryFindCall("call-1", "A1", out var ofAccount));
        Assert.Equal("p1", ofAccount.AttemptId);
        Assert.False(window.TryFindCall("call-1", "A3", out _));
        Assert.False(window.TryFindCall("", null, out _));
    }

    [Fact]
    public void Range_FindsTheWindowsEdgesByBinarySearch_AndReadsAnUnorderedHistoryWhole()
    {
        var window = new AttemptWindow<WindowRow>([At("a", 0), At("b", 10), At("c", 10), At("d", 20)]);
        var ordered = window.Before(DateTimeOffset.MaxValue, null, new AttemptWindow<WindowRow>.View());
        List<Attempt> unordered = [.. ordered.Reverse()];

        Assert.Equal((1, 3), TimeOrdered.Range(ordered, T0.AddMinutes(10), T0.AddMinutes(10)));
        Assert.Equal((0, 4), TimeOrdered.Range(ordered, T0.AddMinutes(-1), T0.AddMinutes(20)));
        Assert.Equal((4, 4), TimeOrdered.Range(ordered, T0.AddMinutes(21), DateTimeOffset.MaxValue));
        Assert.Equal((0, 4), TimeOrdered.Range(unordered, T0.AddMinutes(10), T0.AddMinutes(10)));
    }

    // Placed calls to the consumer about A1 that reached the network: what a call cap counts.
    private static readonly CountKey PlacedCallsA1 = new(1UL << (int)Channel.VoiceCall, CountKey.Any,
        CountKey.Any & ~CountKey.Mask(AttemptOutcome.NotConnected), CountKey.Consumer, "A1", null);

    private static DateTimeOffset[] Matching(IEnumerable<Attempt> attempts, CountKey key) => [.. attempts.Where(a => key.Matches(a)).Select(a => a.At)];

    private static DateTimeOffset[] Minutes(params int[] minutes) => [.. minutes.Select(m => T0.AddMinutes(m))];

    [Fact]
    public void Counted_StaysRight_UnderOutOfOrderArrival_Upserts_AndPruning()
    {
        var window = new AttemptWindow<WindowRow>([At("a", 10), At("x", 15, account: "A2"), At("b", 20)]);
        Assert.Equal(Minutes(10, 20), window.Counted(PlacedCallsA1));

        // Arrivals out of order, one of another debt, one that never connected.
        window.Add(At("c", 5));
        window.Add(At("d", 30));
        window.Add(At("e", 20));
        window.Add(At("f", 12, account: "A2"));
        window.Add(At("g", 25, outcome: AttemptOutcome.NotConnected));
        Assert.Equal(Minutes(5, 10, 20, 20, 30), window.Counted(PlacedCallsA1));

        // A call's outcome: one stops counting, one starts; a reservation confirmed at a later time moves.
        window.Upsert(At("b", 20, outcome: AttemptOutcome.NotConnected));
        window.Upsert(At("g", 25, outcome: AttemptOutcome.Voicemail));
        window.Upsert(At("c", 40));
        window.Upsert(At("h", 35));
        Assert.Equal(Minutes(10, 20, 25, 30, 35, 40), window.Counted(PlacedCallsA1));
        Assert.Equal(Matching(window.Select(r => r.Attempt), PlacedCallsA1), window.Counted(PlacedCallsA1));

        // Pruning cuts at the edge: the call at the edge stays.
        window.Prune(T0.AddMinutes(20));
        Assert.Equal(Minutes(20, 25, 30, 35, 40), window.Counted(PlacedCallsA1));
        Assert.Equal(Matching(window.Select(r => r.Attempt), PlacedCallsA1), window.Counted(PlacedCallsA1));
    }

    [Fact]
    public void Counted_ForManyKeys_DropsTheLeastRecentlyAsked_AndBuildsItAgain_Right()
    {
        var window = new AttemptWindow<WindowRow>([At("a", 10, account: "A1"), At("b", 20, account: "A2")]);
        var a1 = window.Counted(PlacedCallsA1);
        var first = window.Counted(PlacedCallsA1 with { AccountId = "other-0" });

        for (var i = 1; i < AttemptWindow<WindowRow>.MaxCountKeys + 3; i++)
        {
            Assert.Empty(window.Counted(PlacedCallsA1 with { AccountId = $"other-{i}" }));
            Assert.Same(a1, window.Counted(PlacedCallsA1));
        }

        // The key asked for again and again is kept; one not asked for since is dropped and built again.
        Assert.NotSame(first, window.Counted(PlacedCallsA1 with { AccountId = "other-0" }));
        window.Add(At("c", 30, account: "A1"));
        Assert.Equal(Minutes(10, 30), window.Counted(PlacedCallsA1));
        Assert.Equal(Minutes(20), window.Counted(PlacedCallsA1 with { AccountId = "A2" }));
    }

    [Fact]
    public void ViewCounted_EndsAtTheInstant_WithoutTheExcludedReservation()
    {
        var window = new AttemptWindow<WindowRow>([At("a", 10), At("dec_1", 20), At("b", 20), At("c", 30), At("x", 20, account: "A2")]);
        var view = new AttemptWindow<WindowRow>.View();

        var atTwenty = (ICountedAttempts)window.Before(T0.AddMinutes(20), "dec_1", view);
        var times = atTwenty.Counted(PlacedCallsA1);
        Assert.Equal(Minutes(10, 20), Enumerable.Range(0, times.Count).Select(i => times[i]));
        Assert.Equal(Matching(atTwenty, PlacedCallsA1), Enumerable.Range(0, times.Count).Select(i => times[i]));
        Assert.Equal(1, times.LowerBound(T0.AddMinutes(20)));
        Assert.Equal(2, times.UpperBound(T0.AddMinutes(20)));

        // A reservation of another debt is in no count of this one; before the first attempt nothing counts.
        var withOther = ((ICountedAttempts)window.Before(T0.AddMinutes(30), "x", view)).Counted(PlacedCallsA1);
        Assert.Equal(4, withOther.Count);
        Assert.Equal(0, ((ICountedAttempts)window.Before(T0, null, view)).Counted(PlacedCallsA1).Count);
    }
}
