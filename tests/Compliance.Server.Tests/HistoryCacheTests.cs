using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Server.Configuration;
using Compliance.Server.Ingest;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Tests;

/// <summary>
/// The ingest's cached histories and the gate's reservations: a reservation reaches a cached history once, when the
/// history is next used, and a history read after a miss is taken as it is (the reservation is in the store by then).
/// </summary>
public sealed class HistoryCacheTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 14, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Since = T0.AddDays(-8);

    private static HistoryCache Cache() => new(Options.Create(new ComplianceOptions { Ingest = new IngestOptions { CacheHistories = true } }));

    private static AttemptRow Row(string id, int minutes) => new(id, "", new Attempt(T0.AddMinutes(minutes), "acc-1", "c-1", Channel.VoiceCall, "hash-1",
        DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, AttemptOutcome.Pending));

    [Fact]
    public void AReservation_IsAddedToTheCachedHistory_WhenItIsNextUsed_Once()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30), Row("evt:e-2", -20)]);

        cache.Reserved("lender-a", "b-1", Row("dec_1", 0));
        var first = cache.TryGet("lender-a", "b-1", Since);
        var second = cache.TryGet("lender-a", "b-1", Since);

        Assert.Equal(["evt:e-1", "evt:e-2", "dec_1"], first!.Select(r => r.AttemptId));
        Assert.Same(first, second);
        Assert.Equal(3, second!.Count);
    }

    [Fact]
    public void AReservation_TheCachedHistoryAlreadyHolds_IsNotAddedAgain()
    {
        var cache = Cache();
        // The history was read after the decision: it has the reservation, confirmed meanwhile by an event.
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30), Row("dec_1", 0) with { CallId = "call-1" }]);

        cache.Reserved("lender-a", "b-1", Row("dec_1", 0));

        Assert.Equal(["evt:e-1", "dec_1"], cache.TryGet("lender-a", "b-1", Since)!.Select(r => r.AttemptId));
        Assert.Equal("call-1", cache.TryGet("lender-a", "b-1", Since)![1].CallId);
    }

    [Fact]
    public void AReservationForABorrowerNotCached_IsLeftToTheStoreRead_ThatFollowsTheMiss()
    {
        var cache = Cache();
        cache.Reserved("lender-a", "b-2", Row("dec_2", 0));

        Assert.Null(cache.TryGet("lender-a", "b-2", Since));
        cache.Put("lender-a", "b-2", Since, [Row("dec_2", 0)]);

        Assert.Equal(["dec_2"], cache.TryGet("lender-a", "b-2", Since)!.Select(r => r.AttemptId));
    }

    [Fact]
    public void AReleasedBorrower_IsReadAgain_AndOtherLendersAreUntouched()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        cache.Put("lender-b", "b-1", Since, [Row("evt:e-9", -30)]);

        cache.Reserved("lender-a", "b-1", Row("dec_1", 0));
        cache.Invalidate("lender-a", "b-1");

        Assert.Null(cache.TryGet("lender-a", "b-1", Since));
        Assert.Equal(["evt:e-9"], cache.TryGet("lender-b", "b-1", Since)!.Select(r => r.AttemptId));
    }

    [Fact]
    public void ReservationsPilingUpForBorrowersNeverUsedAgain_DropTheCache_PastTheBound()
    {
        var cache = Cache();
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        for (var n = 0; n < 100_000; n++)
        {
            cache.Reserved("lender-a", $"gone-{n}", Row($"dec_{n}", 0));
        }

        Assert.NotNull(cache.TryGet("lender-a", "b-1", Since));
        cache.Reserved("lender-a", "gone-x", Row("dec_x", 0));

        Assert.Null(cache.TryGet("lender-a", "b-1", Since));
        cache.Put("lender-a", "b-1", Since, [Row("evt:e-1", -30)]);
        Assert.NotNull(cache.TryGet("lender-a", "b-1", Since));
    }
}
