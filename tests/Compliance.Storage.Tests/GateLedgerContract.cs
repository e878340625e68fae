using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Storage.Tests;

/// <summary>
/// The gate, ingest and ledger parts of the store contract, run against every provider: the SQL each provider runs
/// for decisions, reservations, events and the hash chain must behave the same.
/// </summary>
public abstract class GateLedgerContract : StoreContract
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private async Task<IComplianceStore> StoreWithAccountAsync()
    {
        var store = await CreateStoreAsync();
        await store.CreateLenderAsync(new Lender("lender-a", "Lender A", "US", T0), Ct);
        await store.CreateLenderAsync(new Lender("lender-b", "Lender B", "CN", T0), Ct);
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);
        return store;
    }

    protected static Attempt Call(DateTimeOffset at, AttemptOutcome outcome = AttemptOutcome.Pending) =>
        new(at, "acc-1", "c-1", Channel.VoiceCall, "hash-1", DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, outcome);

    protected static DecisionRecord Decision(string id, bool allowed, DateTimeOffset at) =>
        new("lender-a", id, "acc-1", "c-1", Channel.VoiceCall, ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", DestinationClass.Own, allowed, false,
            allowed ? [] : [new RuleHit("US-REGF.call-frequency", "US-REGF", "12 CFR 1006.14(b)(2)(i)(A)", "cap", false, Severity.High, at.AddDays(7))],
            ["US-REGF"], allowed ? null : at.AddDays(7), "default", at, allowed ? at.AddMinutes(2) : null, "key-1");

    [Fact]
    public async Task Decide_RecordsTheDecisionAndReservation_InTheBorrowersHistory()
    {
        var store = await StoreWithAccountAsync();

        var seen = -1;
        var recorded = await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), history =>
        {
            seen = history.Count;
            return new GateOutcome(Decision("dec-1", true, T0), Call(T0));
        }, Ct);
        var history = await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct);
        var read = await store.GetDecisionAsync("lender-a", "dec-1", Ct);

        Assert.Equal(0, seen);
        Assert.Equal("dec-1", recorded.DecisionId);
        Assert.Equal(AttemptOutcome.Pending, Assert.Single(history).Outcome);
        Assert.Equal("US-REGF", Assert.Single(read!.Profiles));
        Assert.Null(await store.GetDecisionAsync("lender-b", "dec-1", Ct));
        Assert.Single(await store.DecisionsAsync("lender-a", T0.AddHours(-1), T0.AddHours(1), 10, Ct));
    }

    [Fact]
    public async Task TheRegistryStamp_MovesWithEveryChangeOfTheBorrowersData_AndAStaleDecisionRecordsNothing()
    {
        var store = await StoreWithAccountAsync();
        async Task<long> StampAsync(string borrower = "b-1")
        {
            long seen = -1;
            Assert.Null(await store.DecideOnStampAsync("lender-a", borrower, "c-1", T0.AddDays(-31), (_, stamp) =>
            {
                seen = stamp.Borrower;
                return null;
            }, Ct));
            return seen;
        }

        var created = await StampAsync();
        await store.AddFlagAsync("lender-a", "acc-1", new Flag("flg-1", FlagType.CeaseCommunication, T0, null, Channel.Unspecified, "", "", "", "key-1", null), T0, Ct);
        var flagged = await StampAsync();
        await store.ClearFlagAsync("lender-a", "acc-1", "flg-1", T0.AddHours(1), T0.AddHours(1), Ct);
        var cleared = await StampAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1", borrowerId: "b-2"), Ct);
        var (left, joined) = (await StampAsync(), await StampAsync("b-2"));
        await store.RunIngestAsync(session => session.AddFlagAsync("lender-a", "acc-1",
            new Flag("flg-2", FlagType.WrongNumber, T0, null, Channel.Unspecified, "", "", "", "key-1", null), T0), Ct);
        var (untouched, ingested) = (await StampAsync(), await StampAsync("b-2"));

        Assert.True(created > 0);
        Assert.True(flagged > created && cleared > flagged, $"{created}, {flagged}, {cleared}");
        // The account moved: the borrower it left and the one it joined both see the change; only the second later ones.
        Assert.True(left > cleared && joined > 0, $"{left}, {joined}");
        Assert.Equal(left, untouched);
        Assert.True(ingested > joined, $"{joined}, {ingested}");
        Assert.Equal(0, await StampAsync("b-unknown"));
        Assert.Empty(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct));
        Assert.Empty(await store.DecisionsAsync("lender-a", T0.AddDays(-1), T0.AddDays(1), 10, Ct));
        var decided = await store.DecideOnStampAsync("lender-a", "b-2", "c-1", T0.AddDays(-31), (_, stamp) =>
            stamp.Borrower == ingested ? new GateOutcome(Decision("dec-1", true, T0), Call(T0)) : null, Ct);
        Assert.Equal("dec-1", decided?.DecisionId);
    }

    [Fact]
    public async Task ACollectorsStamp_MovesWithEveryChangeOfIt_IsReadWithIt_AndReachesTheDecision()
    {
        var store = await StoreWithAccountAsync();
        async Task<RegistryStamps> StampsAsync(string collector)
        {
            RegistryStamps seen = default;
            Assert.Null(await store.DecideOnStampAsync("lender-a", "b-1", collector, T0.AddDays(-31), (_, stamp) =>
            {
                seen = stamp;
                return null;
            }, Ct));
            return seen;
        }

        await store.UpsertAgencyAsync(new Agency("lender-a", "ag-1", "Agency", true), Ct);
        var ann = new Collector("lender-a", "c-ann", "ag-1", "Ann", CollectorKind.Human, true);
        var registered = await store.UpsertCollectorAsync(ann, T0, Ct);
        var atRegistration = await StampsAsync("c-ann");
        var deactivated = await store.UpsertCollectorAsync(ann with { Active = false }, T0.AddHours(1), Ct);
        var atDeactivation = await StampsAsync("c-ann");
        var renamed = await store.UpsertCollectorAsync(ann with { Active = false, DisplayName = "Ann B." }, T0.AddHours(2), Ct);
        await store.UpsertCollectorAsync(new Collector("lender-a", "c-bob", "ag-1", "Bob", CollectorKind.Human, true), T0, Ct);
        await store.AddFlagAsync("lender-a", "acc-1", new Flag("flg-1", FlagType.Dispute, T0, null, Channel.Unspecified, "", "", "", "key-1", null), T0, Ct);

        Assert.True(registered.Stamp > 0);
        Assert.Equal(registered.Stamp, atRegistration.Collector);
        Assert.True(deactivated.Stamp > registered.Stamp);
        Assert.Equal(deactivated.Stamp, atDeactivation.Collector);
        Assert.True(renamed.Stamp > deactivated.Stamp);
        // Another collector's change and a flag leave Ann's stamp where it was; the flag moves the borrower's.
        var after = await StampsAsync("c-ann");
        Assert.Equal(renamed.Stamp, after.Collector);
        Assert.True(after.Borrower > atDeactivation.Borrower);
        Assert.Equal(renamed, await store.GetCollectorAsync("lender-a", "c-ann", Ct));
        Assert.Equal(0, (await StampsAsync("c-unknown")).Collector);
        Assert.Equal(0, (await StampsAsync("C-ANN")).Collector);
    }

    [Fact]
    public async Task Reservations_AreReleasedOnRequestOrWhenTheyLapse()
    {
        var store = await StoreWithAccountAsync();
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-1", true, T0), Call(T0)), Ct);
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-2", true, T0), Call(T0)), Ct);

        Assert.Null(await store.ReleaseReservationAsync("lender-b", "dec-1", T0, Ct));
        Assert.Equal("b-1", await store.ReleaseReservationAsync("lender-a", "dec-1", T0, Ct));
        Assert.Null(await store.ReleaseReservationAsync("lender-a", "dec-1", T0, Ct));
        var lapsed = await store.ReleaseExpiredAsync(T0.AddMinutes(3), Ct);

        Assert.Equal([("lender-a", "dec-2", "b-1")], lapsed);
        Assert.Empty(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct));
    }

    [Fact]
    public async Task Ingest_StoresEventsAndAttempts_FindsDuplicatesAndCalls()
    {
        var store = await StoreWithAccountAsync();
        var stored = new StoredEvent("lender-a", "e-1", EventKind.CallPlaced, "acc-1", "b-1", "c-1", "", "call-1", Channel.VoiceCall, ContactPurpose.CollectDebt,
            "hash-1", "+1 617*****00", DestinationClass.Own, "", AttemptOutcome.Pending, 0, T0, T0, false, 35,
            [new Violation(new RuleHit("US-REGF.hours", "US-REGF", "12 CFR 1006.6(b)(1)(i)", "late", false, Severity.High, null), "")], null);

        await store.RunIngestAsync(async session =>
        {
            await session.AddEventAsync(stored);
            await session.AddAttemptAsync("lender-a", "evt:e-1", "b-1", "call-1", Call(T0));
            await session.SetOutcomeAsync("lender-a", "evt:e-1", AttemptOutcome.Conversation);
        }, Ct);
        IReadOnlyDictionary<string, StoredEvent>? existing = null;
        AttemptRow? call = null;
        Dictionary<string, List<AttemptRow>>? histories = null;
        await store.RunIngestAsync(async session =>
        {
            existing = await session.ExistingEventsAsync("lender-a", ["e-1", "e-2"]);
            call = await session.AttemptOfCallAsync("lender-a", "call-1");
            histories = await session.HistoriesAsync("lender-a", ["b-1", "b-2"], T0.AddDays(-1));
        }, Ct);
        var totals = await store.ConductTotalsAsync("lender-a", ScoreGroup.Collector, null, T0.AddDays(-1), T0.AddDays(1), 10, Ct);

        Assert.Equal(["e-1"], existing!.Keys);
        Assert.Equal("US-REGF.hours", existing["e-1"].Violations.Single().Rule.RuleId);
        Assert.Equal(AttemptOutcome.Conversation, call!.Value.Attempt.Outcome);
        Assert.Single(histories!["b-1"]);
        Assert.Empty(histories["b-2"]);
        Assert.Equal(new ConductTotals("c-1", 1, 1, 35), Assert.Single(totals));
    }

    [Fact]
    public async Task Ledger_ChainsEveryRecordedFact_AndVerifiesAgainstItsCheckpoint()
    {
        var store = await StoreWithAccountAsync();
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-1", false, T0), null), Ct);
        await store.AddFlagAsync("lender-a", "acc-1", new Flag("flg-1", FlagType.Dispute, T0, null, Channel.Unspecified, "", "", "", "k", null), T0, Ct);
        await store.AddPolicyAsync("lender-a", "shadow: []", T0, T0, "k", Ct);
        await store.AddComplaintAsync(new Complaint("lender-a", "cmpl-1", ComplaintSource.RegulatorHotline, "12378-1", "acc-1", T0, "text", ComplaintStatus.Received, null, T0, T0), Ct);
        var head = await store.HeadAsync("lender-a", Ct);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        await store.AddCheckpointAsync(CheckpointSignature.Sign(key, "lender-a", head!.Seq, head.Hash, T0, anchor: false), Ct);

        var entries = await store.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct);
        var result = new LedgerVerifier(key).Verify(LedgerChain.Start("lender-a"), entries, await store.CheckpointsAsync("lender-a", Ct), await store.MaxSeqAsync("lender-a", Ct));

        Assert.Equal([LedgerKind.AccountChanged, LedgerKind.Decision, LedgerKind.FlagSet, LedgerKind.PolicyVersion, LedgerKind.Complaint], entries.Select(e => e.Kind));
        Assert.True(result.Valid, result.Reason);
        Assert.Equal(5, result.EntriesChecked);
        Assert.Equal(4, (await store.EntriesOfAccountAsync("lender-a", "acc-1", T0.AddDays(-1), T0.AddDays(1), Ct)).Count);
        Assert.Null(await store.HeadAsync("lender-b", Ct));
    }

    /// <summary>The latest row binding the chain holds for each bound row, as the verifier gathers them.</summary>
    protected static async Task<Dictionary<(string Table, string Key), string>> BindingsAsync(IComplianceStore store, string lender)
    {
        var bindings = new Dictionary<(string, string), string>();
        await foreach (var entry in store.EntriesAsync(lender, 1, long.MaxValue, Ct))
        {
            using var payload = System.Text.Json.JsonDocument.Parse(entry.Payload);
            if (entry.Kind == LedgerKind.RowsBound)
            {
                foreach (var row in payload.RootElement.GetProperty("rows").EnumerateArray())
                {
                    bindings[(row.GetProperty("table").GetString()!, row.GetProperty("key").GetString()!)] = row.GetProperty("hash").GetString()!;
                }
            }
            else if (payload.RootElement.TryGetProperty("row", out var bound))
            {
                bindings[(bound.GetProperty("table").GetString()!, bound.GetProperty("key").GetString()!)] = bound.GetProperty("hash").GetString()!;
            }
        }

        return bindings;
    }

    protected static async Task<Dictionary<(string Table, string Key), string>> StoredAsync(IComplianceStore store, string lender)
    {
        var stored = new Dictionary<(string, string), string>();
        foreach (var table in BoundTable.All)
        {
            await foreach (var row in store.StoredRowsAsync(lender, table, Ct))
            {
                stored[(row.Table, row.Key)] = row.Hash;
            }
        }

        return stored;
    }

    [Fact]
    public async Task EveryServedRow_IsBoundToTheChain_InTheTransactionThatWroteIt_AndAnEditedRowNoLongerMatches()
    {
        var store = await StoreWithAccountAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1") with { BorrowerName = "Renamed" }, Ct);
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-1", false, T0), null), Ct);
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-2", true, T0) with { Hours = null }, Call(T0)), Ct);
        await store.AddFlagAsync("lender-a", "acc-1", new Flag("flg-1", FlagType.CeaseCommunication, T0, T0.AddDays(9), Channel.Sms, "p", "cp", "note", "k", null), T0, Ct);
        await store.AddFlagAsync("lender-a", "acc-1", new Flag("flg-2", FlagType.Dispute, T0, null, Channel.Unspecified, "", "", "", "k", null), T0, Ct);
        await store.ClearFlagAsync("lender-a", "acc-1", "flg-2", T0.AddHours(1), T0.AddHours(1), Ct, "officer", "resolved");
        await store.AddPolicyAsync("lender-a", "shadow: []", T0, T0, "k", Ct);
        await store.AddComplaintAsync(new Complaint("lender-a", "cmpl-1", ComplaintSource.RegulatorHotline, "12378-1", "acc-1", T0, "They called at night.", ComplaintStatus.Received, T0.AddDays(21), T0, T0), Ct);
        await store.UpdateComplaintStatusAsync("lender-a", "cmpl-1", ComplaintStatus.Answered, "answered", T0.AddDays(1), "k", Ct);

        var stored = await StoredAsync(store, "lender-a");
        var bindings = await BindingsAsync(store, "lender-a");

        Assert.Equal(
            ["accounts:acc-1", "complaints:cmpl-1", "decisions:dec-1", "decisions:dec-2", "flags:flg-1", "flags:flg-2", "policies:1"],
            stored.Keys.Select(k => $"{k.Table}:{k.Key}").Order(StringComparer.Ordinal));
        Assert.Equal(stored.OrderBy(s => s.Key), bindings.OrderBy(b => b.Key));
        Assert.Empty(await StoredAsync(store, "lender-b"));

        await EditAsync(store, "UPDATE complaints SET text = 'Nothing happened.' WHERE complaint_id = 'cmpl-1'");
        var edited = await StoredAsync(store, "lender-a");
        Assert.NotEqual(bindings[("complaints", "cmpl-1")], edited[("complaints", "cmpl-1")]);
        Assert.Equal(bindings[("decisions", "dec-1")], edited[("decisions", "dec-1")]);
    }

    /// <summary>Changes the provider's database behind the store's back, as a database administrator could.</summary>
    protected abstract Task EditAsync(IComplianceStore store, string sql);
}
