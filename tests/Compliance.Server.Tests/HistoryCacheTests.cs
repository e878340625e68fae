using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Server.Configuration;
using Compliance.Server.Ingest;
using Compliance.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Compliance.Server.Tests;

/// <summary>
/// The ingest's cached histories and the gate's reservations: a reservation reaches a cached history once, when the
/// history is next used, and a history read after a miss is taken as it is (the reservation is in the store by then).
/// </summary>
public sealed class HistoryCacheTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 14, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Since = T0.AddDays(-8);
    private static readonly DateTimeOffset Until = T0.AddMinutes(2);

    private readonly FakeTimeProvider _clock = new(T0);

    private HistoryCache Cache() => new(Options.Create(new ComplianceOptions { Ingest = new IngestOptions { CacheHistories = true } }), _clock);

    private static AttemptRow Row(string id, int minutes) => new(id, "", new Attempt(T0.AddMinutes(minutes), "acc-1", "c-1", Channel.VoiceCall, "hash-1",
        DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, AttemptOutcome.Pending));

    private static string[] Ids(IEnumerable<AttemptRow>? rows) => [.. rows!.Select(r => r.AttemptId)];

    /// <summary>The borrower misses, is read from the store as <paramref name="read"/>, and is then served exactly that.</summary>
    private static void AssertReadAgain(HistoryCache cache, string borrower, params AttemptRow[] read)
    {
        Assert.Null(cache.TryGet("lender-a", borrower, Since));
        cache.Put("lender-a", borrower, Since, [.. read]);
        Assert.Equal(read.Select(r => r.AttemptId), Ids(cache.TryGet("lender-a", borrower, Since)));
    }

    [Fact]
    public void AReservation_IsAddedToTheCachedHistory_WhenItIsNextUsed_Once()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30), Row("evt:e-2", -20)]);

        cache.Reserved("lender-a", "b-1", Row("dec_1", 0), Until);
        var first = cache.TryGet("lender-a", "b-1", Since);
        var second = cache.TryGet("lender-a", "b-1", Since);

        Assert.Equal(["evt:e-1", "evt:e-2", "dec_1"], Ids(first));
        Assert.Same(first, second);
        Assert.Equal(3, second!.Count);
    }

    [Fact]
    public void ALongHistory_IsPruned_ToWhatTheLookupReachesBackTo_InOrder()
    {
        var cache = Cache();
        // 2,500 rows a minute apart, the oldest first, and a later lookup that reaches back only 1,000 minutes.
        var rows = Enumerable.Range(0, 2_500).Select(i => Row($"evt:e-{i}", i - 2_500)).ToList();
        cache.Put("lender-a", "b-1", Since, [.. rows]);

        var pruned = cache.TryGet("lender-a", "b-1", T0.AddMinutes(-1_000));

        Assert.Equal(Enumerable.Range(1_500, 1_000).Select(i => $"evt:e-{i}"), Ids(pruned));
        Assert.Null(cache.TryGet("lender-a", "b-1", T0.AddMinutes(-1_001)));
    }

    [Fact]
    public void AShortHistory_IsPruned_ToTheWindowToo_SoABorrowersStateIsWhatTheWindowHolds()
    {
        var cache = Cache();
        // Ten rows an hour apart; the next batch's window reaches back four hours: the older rows are not kept.
        cache.Put("lender-a", "b-1", Since, [.. Enumerable.Range(0, 10).Select(i => Row($"evt:e-{i}", (i - 10) * 60))]);

        var windowed = cache.TryGet("lender-a", "b-1", T0.AddHours(-4));

        Assert.Equal(["evt:e-6", "evt:e-7", "evt:e-8", "evt:e-9"], Ids(windowed));
        Assert.Null(cache.TryGet("lender-a", "b-1", T0.AddHours(-5)));
    }

    [Fact]
    public void AReservation_TheCachedHistoryAlreadyHolds_IsNotAddedAgain()
    {
        var cache = Cache();
        // The history was read after the decision: it has the reservation, confirmed meanwhile by an event.
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30), Row("dec_1", 0) with { CallId = "call-1" }]);

        cache.Reserved("lender-a", "b-1", Row("dec_1", 0), Until);

        Assert.Equal(["evt:e-1", "dec_1"], Ids(cache.TryGet("lender-a", "b-1", Since)));
        Assert.Equal("call-1", cache.TryGet("lender-a", "b-1", Since)![1].CallId);
    }

    [Fact]
    public void AReservationForABorrowerNotCached_IsLeftToTheStoreRead_ThatFollowsTheMiss()
    {
        var cache = Cache();
        cache.Reserved("lender-a", "b-2", Row("dec_2", 0), Until);

        // What the read after the miss found is what counts (here: the reservation was released meanwhile).
        AssertReadAgain(cache, "b-2", Row("evt:e-5", -10));
    }

    [Fact]
    public void AReleasedBorrower_IsReadAgain_WithoutWhatWasHandedOverBefore_AndOtherLendersAreUntouched()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        cache.Put("lender-b", "b-1", Since, [Row("evt:e-9", -30)]);

        cache.Reserved("lender-a", "b-1", Row("dec_1", 0), Until);
        cache.Invalidate("lender-a", "b-1");

        AssertReadAgain(cache, "b-1", Row("evt:e-1", -30));
        Assert.Equal(["evt:e-9"], Ids(cache.TryGet("lender-b", "b-1", Since)));
    }

    [Fact]
    public void AReservationHandedOverAfterItLapsed_IsNotAdded_TheBorrowerIsReadAgain()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);

        // A slow decision: by the time it is handed over its reservation may have been released already.
        _clock.Advance(TimeSpan.FromMinutes(3));
        cache.Reserved("lender-a", "b-1", Row("dec_1", 0), Until);

        AssertReadAgain(cache, "b-1", Row("evt:e-1", -30));
    }

    [Fact]
    public void ReservationsHandedOverFromManyThreads_WhileTheWriterReads_AreAllAddedOnce()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        const int Threads = 4, Each = 5_000;

        var gates = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var n = 0; n < Each; n++)
            {
                cache.Reserved("lender-a", "b-1", Row($"dec_{t}_{n}", 0), Until);
            }
        })).ToArray();
        while (!Task.WhenAll(gates).IsCompleted)
        {
            Assert.NotNull(cache.TryGet("lender-a", "b-1", Since));
        }

        var rows = cache.TryGet("lender-a", "b-1", Since)!;
        Assert.Equal(1 + Threads * Each, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => r.AttemptId).Distinct().Count());
    }

    [Fact]
    public void ReservationsPilingUpForBorrowersNeverUsedAgain_DropTheCache_PastTheBound()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        for (var n = 0; n < 100_000; n++)
        {
            cache.Reserved("lender-a", $"gone-{n}", Row($"dec_{n}", 0), Until);
        }

        Assert.NotNull(cache.TryGet("lender-a", "b-1", Since));
        cache.Reserved("lender-a", "gone-x", Row("dec_x", 0), Until);

        AssertReadAgain(cache, "b-1", Row("evt:e-1", -30));
    }

    [Fact]
    public void ReservationsForBorrowersNotHeld_AreForgottenBeforeEachBatch_SoTheCacheIsKept()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        cache.Reserved("lender-a", "b-1", Row("dec_held", 0), Until);

        // Batches come between the decisions: 150,000 in all, past the bound, for borrowers the writer does not hold.
        for (var batch = 0; batch < 3; batch++)
        {
            for (var n = 0; n < 50_000; n++)
            {
                cache.Reserved("lender-a", $"gone-{batch}-{n}", Row($"dec_{batch}_{n}", 0), Until);
                cache.Invalidate("lender-b", $"released-{batch}-{n % 10}");
            }

            cache.ForgetUnheld();
            Assert.Equal(1, cache.Pending);
        }

        Assert.Equal(["evt:e-1", "dec_held"], Ids(cache.TryGet("lender-a", "b-1", Since)));
        Assert.Equal(0, cache.Pending);
    }

    [Fact]
    public void WithoutIngest_ReservationsStopPilingUp_OnceTheBoundIsPassed()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);

        // A lender that asks the gate and streams nothing: the writer never comes to take what is handed over.
        for (var n = 0; n < 300_000; n++)
        {
            cache.Reserved("lender-a", $"b-{n % 1_000}", Row($"dec_{n}", 0), Until);
        }

        Assert.InRange(cache.Pending, 0, 100_001);
        Assert.Null(cache.TryGet("lender-a", "b-1", Since));
        Assert.Equal(0, cache.Pending);
    }

    [Fact]
    public void PastTheBorrowerBound_TheBorrowerUsedLongestAgo_IsDropped()
    {
        var cache = new HistoryCache(Options.Create(new ComplianceOptions { Ingest = new IngestOptions { CacheHistories = true, HistoryCacheBorrowers = 2 } }), _clock);
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        cache.Put("lender-a", "b-2", Since, [Row("evt:e-2", -30)]);
        Assert.NotNull(cache.TryGet("lender-a", "b-1", Since));

        cache.Put("lender-a", "b-3", Since, [Row("evt:e-3", -30)]);

        Assert.Equal(2, cache.Borrowers);
        Assert.Null(cache.TryGet("lender-a", "b-2", Since));
        Assert.Equal(["evt:e-1"], Ids(cache.TryGet("lender-a", "b-1", Since)));
        Assert.Equal(["evt:e-3"], Ids(cache.TryGet("lender-a", "b-3", Since)));
    }

    [Fact]
    public void PastTheRowBound_BorrowersAreDropped_OldestFirst_AsTheirWindowsGrow()
    {
        var cache = new HistoryCache(Options.Create(new ComplianceOptions { Ingest = new IngestOptions { CacheHistories = true, HistoryCacheRows = 5 } }), _clock);
        cache.Put("lender-a", "b-1", Since, [Row("evt:a-1", -30), Row("evt:a-2", -20)]);
        cache.Put("lender-a", "b-2", Since, [Row("evt:b-1", -30), Row("evt:b-2", -20)]);

        // A batch adds to b-2's window; the next lookup counts it, which passes the bound.
        var grown = cache.TryGet("lender-a", "b-2", Since)!;
        grown.Add(Row("evt:b-3", -10));
        grown.Add(Row("evt:b-4", -5));
        Assert.Same(grown, cache.TryGet("lender-a", "b-2", Since));

        Assert.Equal(4, cache.Rows);
        Assert.Null(cache.TryGet("lender-a", "b-1", Since));
        Assert.Equal(1, cache.Borrowers);
    }
}
