using Compliance.Domain.Ledger;
using Microsoft.Data.Sqlite;

namespace Compliance.Storage.Tests;

/// <summary>
/// The embedded store with each of its mechanisms for speed turned off (<see cref="SqliteTuning"/>, for the A/B of
/// the load tool's storage-ab): it stores, finds resent events, reads them back and verifies its ledger all the same.
/// </summary>
public sealed class SqliteTuningTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);
    private static CancellationToken Ct => CancellationToken.None;

    private readonly StoreFolder _folder = new("compliance-tuning-");

    public static TheoryData<string> Variants => ["all on", "key merge off", "key filter off", "row writer off", "checkpoint control off"];

    private static SqliteTuning Tuning(string variant) => variant switch
    {
        "key merge off" => new SqliteTuning(KeyMerge: false),
        "key filter off" => new SqliteTuning(KeyFilter: false),
        "row writer off" => new SqliteTuning(RowWriter: false),
        "checkpoint control off" => new SqliteTuning(CheckpointControl: false),
        _ => SqliteTuning.AllOn,
    };

    private static StoredEvent Event(int n) => new("lender-a", $"e-{n}", Domain.Events.EventKind.MessageSent, "acc-1", $"b-{n % 2}", "c-1", "", "",
        Domain.Registry.Channel.Sms, Domain.Rules.ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", Domain.Rules.DestinationClass.Own, "",
        Domain.Rules.AttemptOutcome.Delivered, n, T0.AddMinutes(n), T0, false, 0, [], n % 3 == 0 ? null : $"body {n}",
        Domain.Registry.ContactPointUse.Mobile, EventCounting.Attempt);

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task EachVariant_StoresEvents_FindsThemWhenResent_ReadsThemBack_AndVerifiesItsLedger(string variant)
    {
        var path = _folder.File("tuning.db");
        var store = _folder.Keep(new SqliteStore(path, Tuning(variant), eventIndexBatch: 5, logPages: 64));
        await store.MigrateAsync(Ct);

        // Six group commits of four, each checking its ids first as the ingest does: none is stored yet.
        var foundBeforeWriting = 0;
        for (var commit = 0; commit < 6; commit++)
        {
            var batch = Enumerable.Range(commit * 4, 4).Select(Event).ToList();
            await store.RunIngestAsync(async session =>
            {
                foundBeforeWriting += (await session.ExistingEventsAsync("lender-a", batch.ConvertAll(e => e.EventId))).Count;
                await session.AddEventsAsync(batch);
            }, Ct);
        }

        var keysRightAfter = await CountAsync(path, "SELECT COUNT(*) FROM event_keys");
        // Commits without events carry the merges on (with the key merge), and the filter is filled meanwhile.
        for (var commit = 0; commit < 30; commit++)
        {
            await store.RunIngestAsync(_ => Task.CompletedTask, Ct);
        }

        // A batch resent with one new event: the 24 stored are found, and only the new one is added.
        IReadOnlyDictionary<string, StoredEvent> resent = new Dictionary<string, StoredEvent>();
        var retry = Enumerable.Range(0, 25).Select(Event).ToList();
        await store.RunIngestAsync(async session =>
        {
            resent = await session.ExistingEventsAsync("lender-a", retry.ConvertAll(e => e.EventId));
            await session.AddEventsAsync(retry.Where(e => !resent.ContainsKey(e.EventId)).ToList());
        }, Ct);

        var readBack = await store.EventsOfAccountAsync("lender-a", "acc-1", "b-1", T0, T0.AddHours(1), Ct);
        var history = await store.HistoryAsync("lender-a", "b-0", T0.AddDays(-1), Ct);
        var entries = await store.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var verified = new LedgerVerifier(key).Verify(LedgerChain.Start("lender-a"), entries, [], await store.MaxSeqAsync("lender-a", Ct),
            entry => EventBatchCheck.Problem(store, entry, Ct));
        await store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        var restarted = _folder.Keep(new SqliteStore(path, Tuning(variant), eventIndexBatch: 5, logPages: 64));
        var foundAfterRestart = 0;
        await restarted.RunIngestReadAsync(async session =>
            foundAfterRestart = (await session.ExistingEventsAsync("lender-a", [.. Enumerable.Range(0, 30).Select(n => $"e-{n}")])).Count, Ct);

        Assert.Equal(0, foundBeforeWriting);
        Assert.Equal(Enumerable.Range(0, 24).Select(n => $"e-{n}").Order(StringComparer.Ordinal), resent.Keys.Order(StringComparer.Ordinal));
        Assert.All(resent.Values, e => Assert.Equal(Event(int.Parse(e.EventId[2..])).Body, e.Body));
        // Odd events are borrower b-1's, the new e-24 b-0's: each stored once.
        Assert.Equal(Enumerable.Range(0, 12).Select(n => Event(2 * n + 1)).Select(e => (e.EventId, e.DurationMs, e.OccurredAt, e.Body)),
            readBack.Select(e => (e.EventId, e.DurationMs, e.OccurredAt, e.Body)));
        Assert.Equal(13, history.Count);
        Assert.True(verified.Valid, verified.Reason);
        Assert.Equal(7, entries.Count(e => e.Kind == LedgerKind.EventBatch));
        Assert.Equal(25, foundAfterRestart);
        // The key merge keeps the newest keys out of the table until it merges them; without it, each commit inserts its own.
        if (variant == "key merge off")
        {
            Assert.Equal(24, keysRightAfter);
        }
        else
        {
            Assert.InRange(keysRightAfter, 0, 23);
        }
    }

    private static Task<long> CountAsync(string path, string sql) => SqliteStoreTests.CountAsync(path, sql);

    public ValueTask DisposeAsync() => _folder.DisposeAsync();
}
