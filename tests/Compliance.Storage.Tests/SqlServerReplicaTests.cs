using System.Security.Cryptography;
using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Storage.Tests;

/// <summary>
/// Two replicas of the service on one SQL Server database, as two stores on one connection string (each with its own
/// connection pool, as two processes have): the gate, the ingest and the ledger must agree as one would. Skipped, with
/// the reason, where no container engine runs.
/// </summary>
public sealed class SqlServerReplicaTests(SqlServerContainerFixture fixture) : IClassFixture<SqlServerContainerFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;

    private async Task<(SqlServerStore A, SqlServerStore B)> TwoReplicasAsync()
    {
        var database = await fixture.NewDatabaseAsync();
        // Pooling off for one of them: the two never share a connection, as two processes cannot.
        var a = new SqlServerStore(database);
        var b = new SqlServerStore(new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString);
        await a.MigrateAsync(Ct);
        await b.MigrateAsync(Ct); // the second replica finds the schema current
        await a.CreateLenderAsync(new Lender("lender-a", "Lender A", "US", T0), Ct);
        await a.UpsertAccountAsync(Account(), Ct);
        return (a, b);
    }

    [Fact]
    public async Task TheGate_OnTwoReplicas_GrantsABorrowerOnlyWhatTheCapAllows()
    {
        var (a, b) = await TwoReplicasAsync();
        const int cap = 3;

        // Twenty requests for one borrower at once, half through each replica; each allowed one reserves a call.
        var decisions = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? a : b).DecideAsync("lender-a", "b-1", T0.AddDays(-7), history =>
        {
            var allowed = history.Count < cap;
            return new GateOutcome(Decision($"dec-{i}", allowed), allowed ? Call() : null);
        }, Ct)));

        Assert.Equal(cap, decisions.Count(d => d.Allowed));
        Assert.Equal(cap, (await b.HistoryAsync("lender-a", "b-1", T0.AddDays(-7), Ct)).Count);
        Assert.Equal(20, (await a.DecisionsAsync("lender-a", T0.AddHours(-1), T0.AddHours(1), 100, Ct)).Count);
    }

    [Fact]
    public async Task AFlagSetThroughOneReplica_MovesTheStampTheOtherReadsUnderTheBorrowersLock()
    {
        var (a, b) = await TwoReplicasAsync();
        async Task<long> StampAsync(SqlServerStore store)
        {
            long seen = -1;
            await store.DecideOnStampAsync("lender-a", "b-1", "c-1", T0.AddDays(-7), (_, stamp) =>
            {
                seen = stamp.Borrower;
                return null;
            }, Ct);
            return seen;
        }

        var before = await StampAsync(b);
        await a.AddFlagAsync("lender-a", "acc-1", new Flag("flg-1", FlagType.CeaseCommunication, T0, null, Channel.Unspecified, "", "", "", "key-1", null), T0, Ct);
        var after = await StampAsync(b);
        // Concurrent first changes of one borrower through both replicas: the stamp row is made once (MERGE ... HOLDLOCK).
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? a : b).AddFlagAsync("lender-a", "acc-1",
            new Flag($"flg-x{i}", FlagType.Dispute, T0, null, Channel.Unspecified, "", "", "", "key-1", null), T0, Ct)));

        Assert.True(after > before, $"{before} -> {after}");
        Assert.Equal(after + 10, await StampAsync(a));
    }

    [Fact]
    public async Task TheSameEvents_IngestedThroughTwoReplicasAtOnce_AreStoredOnce()
    {
        var (a, b) = await TwoReplicasAsync();
        var events = Enumerable.Range(0, 10).Select(i => Event($"e-{i}")).ToList();

        // Each replica does what the ingest does with a batch: looks up which events are stored, and adds the others.
        async Task Ingest(SqlServerStore store) => await store.RunIngestAsync(async session =>
        {
            var existing = await session.ExistingEventsAsync("lender-a", events.Select(e => e.EventId).ToList());
            var missing = events.Where(e => !existing.ContainsKey(e.EventId)).ToList();
            if (missing.Count > 0)
            {
                await session.AddEventsAsync(missing);
            }
        }, Ct);
        await Task.WhenAll(Ingest(a), Ingest(b), Ingest(a), Ingest(b));

        var stored = await b.EventsOfAccountAsync("lender-a", "acc-1", "b-1", T0.AddDays(-1), T0.AddDays(1), Ct);
        Assert.Equal(events.Select(e => e.EventId).Order(), stored.Select(e => e.EventId).Order());
        var proofs = await a.EventProofsAsync("lender-a", stored.Select(e => e.Seq).ToList(), Ct);
        Assert.Equal(10, proofs.Count);
    }

    [Fact]
    public async Task TheLedger_AppendedThroughTwoReplicasAtOnce_IsOneChain_ThatVerifies()
    {
        var (a, b) = await TwoReplicasAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            (i % 2 == 0 ? a : b).AppendAsync("lender-a", LedgerKind.PolicyVersion, $"ref-{i}", "", T0, new { i }, Ct)));
        var head = await a.HeadAsync("lender-a", Ct);
        // Both replicas sign the same head: one checkpoint is kept.
        await Task.WhenAll(
            a.AddCheckpointAsync(CheckpointSignature.Sign(key, "lender-a", head!.Seq, head.Hash, T0, anchor: false), Ct),
            b.AddCheckpointAsync(CheckpointSignature.Sign(key, "lender-a", head.Seq, head.Hash, T0, anchor: false), Ct));

        var entries = await b.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct);
        var result = new LedgerVerifier(key).Verify(LedgerChain.Start("lender-a"), entries, await b.CheckpointsAsync("lender-a", Ct), await b.MaxSeqAsync("lender-a", Ct));

        Assert.Equal(Enumerable.Range(1, 41).Select(i => (long)i), entries.Select(e => e.Seq)); // the account's entry, then the forty
        Assert.True(result.Valid, result.Reason);
        Assert.Single(await a.CheckpointsAsync("lender-a", Ct));
    }

    [Fact]
    public async Task IdsThatDifferOnlyInCase_AreDifferentKeys_OnSqlServerToo()
    {
        var (a, b) = await TwoReplicasAsync();

        await a.RunIngestAsync(session => session.AddEventsAsync([Event("E-1")]), Ct);
        IReadOnlyDictionary<string, StoredEvent>? existing = null;
        await b.RunIngestAsync(async session =>
        {
            existing = await session.ExistingEventsAsync("lender-a", ["e-1"]);
            await session.AddEventsAsync([Event("e-1")]);
        }, Ct);

        Assert.Empty(existing!);
        Assert.Equal(["E-1", "e-1"], (await a.EventsOfAccountAsync("lender-a", "acc-1", "b-1", T0.AddDays(-1), T0.AddDays(1), Ct)).Select(e => e.EventId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Incidents_StoredThroughTwoReplicasAtOnce_AreNumberedOnceEach_AndEachReplicaReadsThemAll()
    {
        var (a, b) = await TwoReplicasAsync();
        await a.CreateLenderAsync(new Lender("lender-b", "Lender B", "US", T0), Ct);
        Incident Raised(string lender, int i) =>
            new(lender, $"inc-{i}", "BASE.address-book-blast", "c", Severity.Critical, "acc-1", "c-1", "s", [], T0, T0, null, "", "");

        // Forty group commits at once, half through each replica, each with one incident of lender-a (and every
        // fourth one of lender-b): the event_log lock makes them take turns, so the numbers are those of the commits.
        var watermark = await b.LastIncidentSequenceAsync("lender-a", Ct);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? a : b).RunIngestAsync(async s =>
        {
            await s.AddIncidentAsync(Raised("lender-a", i));
            if (i % 4 == 0)
            {
                await s.AddIncidentAsync(Raised("lender-b", i));
            }
        }, Ct)));
        var readByA = await a.IncidentsAfterAsync("lender-a", 0, Severity.Unspecified, 100, Ct);
        var readByB = await b.IncidentsAfterAsync("lender-a", 20, Severity.Unspecified, 100, Ct);

        Assert.Equal(0, watermark);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), readByA.Select(i => i.Sequence));
        Assert.Equal(40, readByA.Select(i => i.IncidentId).Distinct().Count());
        Assert.Equal(readByA.Skip(20).Select(i => (i.IncidentId, i.Sequence)), readByB.Select(i => (i.IncidentId, i.Sequence)));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), (await b.IncidentsAfterAsync("lender-b", 0, Severity.Unspecified, 100, Ct)).Select(i => i.Sequence));
        Assert.Equal(40, await b.LastIncidentSequenceAsync("lender-a", Ct));
    }

    [Fact]
    public async Task ACollectorChangedThroughOneReplica_MovesTheStampTheOtherReadsUnderTheBorrowersLock()
    {
        var (a, b) = await TwoReplicasAsync();
        await a.UpsertAgencyAsync(new Agency("lender-a", "ag-1", "Agency", true), Ct);
        var cached = await b.UpsertCollectorAsync(new Collector("lender-a", "c-1", "ag-1", "Ann", CollectorKind.Human, true), T0, Ct);
        async Task<RegistryStamps> StampsAsync(SqlServerStore store)
        {
            RegistryStamps seen = default;
            await store.DecideOnStampAsync("lender-a", "b-1", "c-1", T0.AddDays(-7), (_, stamp) =>
            {
                seen = stamp;
                return null;
            }, Ct);
            return seen;
        }

        var before = await StampsAsync(b);
        await a.UpsertCollectorAsync(cached with { Active = false }, T0.AddHours(1), Ct);
        var after = await StampsAsync(b);
        var reread = await b.GetCollectorAsync("lender-a", "c-1", Ct);

        Assert.Equal(cached.Stamp, before.Collector);
        Assert.True(after.Collector > before.Collector, $"{before} -> {after}");
        Assert.Equal(before.Borrower, after.Borrower);
        Assert.Equal((false, after.Collector), (reread!.Active, reread.Stamp));
    }

    private static Account Account() => new(
        "lender-a", "acc-1", "b-1", "Jane Roe", new Location("US", "US-MA", "02110", "America/New_York"),
        [new ContactPoint("cp-1", ContactPointKind.Phone, ContactPointUse.Mobile, "hash-1", "+1 617*****00", "US", false, ["America/New_York"])],
        [], [], ["US-MA"], [], T0, T0, 0);

    private static Attempt Call() =>
        new(T0, "acc-1", "c-1", Channel.VoiceCall, "hash-1", DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, AttemptOutcome.Pending);

    private static DecisionRecord Decision(string id, bool allowed) =>
        new("lender-a", id, "acc-1", "c-1", Channel.VoiceCall, ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", DestinationClass.Own, allowed, false,
            [], ["US-REGF"], null, "1", T0, allowed ? T0.AddMinutes(2) : null, "key-1");

    private static StoredEvent Event(string id) => new("lender-a", id, EventKind.CallPlaced, "acc-1", "b-1", "c-1", "", $"call-{id}", Channel.VoiceCall,
        ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", DestinationClass.Own, "", AttemptOutcome.Pending, 0, T0, T0, false, 0, [], null,
        ContactPointUse.Mobile, EventCounting.Attempt);
}
