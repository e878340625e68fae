using Compliance.Domain.Registry;

namespace Compliance.Storage.Tests;

/// <summary>
/// The behaviour every store provider must have. Each provider's test class derives from this and supplies a
/// fresh, migrated store; the same tests then run against SQLite and SQL Server.
/// </summary>
public abstract class StoreContract
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>A migrated, empty store with lenders "lender-a" and "lender-b".</summary>
    protected abstract Task<IComplianceStore> CreateStoreAsync();

    private async Task<IComplianceStore> StoreWithLendersAsync()
    {
        var store = await CreateStoreAsync();
        Assert.True(await store.CreateLenderAsync(new Lender("lender-a", "Lender A", "US", T0), Ct));
        Assert.True(await store.CreateLenderAsync(new Lender("lender-b", "Lender B", "CN", T0), Ct));
        return store;
    }

    /// <summary>Lender A's borrower b-1 with acc-1 (a cease flag) and acc-2, b-2 with acc-3; lender B's b-1 with acc-9.</summary>
    private async Task<IComplianceStore> StoreWithBorrowersAsync()
    {
        var store = await StoreWithLendersAsync();
        foreach (var (lender, id, borrower) in new[] { ("lender-a", "acc-2", "b-1"), ("lender-a", "acc-1", "b-1"), ("lender-a", "acc-3", "b-2"), ("lender-b", "acc-9", "b-1") })
        {
            await store.UpsertAccountAsync(NewAccount(lender, id, borrowerId: borrower), Ct);
        }

        await store.AddFlagAsync("lender-a", "acc-1", new Flag("flg-1", FlagType.CeaseCommunication, T0, null, Channel.Unspecified, "", "", "", "key-1", null), T0, Ct);
        return store;
    }

    protected static Account NewAccount(string lenderId, string accountId, string borrowerId = "b-1") => new(
        lenderId, accountId, borrowerId, "Jane Roe", new Location("US", "US-MA", "02110", "America/New_York"),
        [new ContactPoint("cp-1", ContactPointKind.Phone, ContactPointUse.Mobile, "hash-1", "+1 617*****00", "US", false, ["America/New_York"])],
        [new Party("p-1", PartyRole.EmergencyContact, "John", [new ContactPoint("cp-2", ContactPointKind.Phone, ContactPointUse.Mobile, "hash-2", "+1 617*****01", "US", false, [])])],
        [], ["US-MA"], [new LocalTimeRange(720, 780, [1, 2, 3, 4, 5])], T0, T0, 0);

    [Fact]
    public async Task Migrate_IsIdempotent()
    {
        var store = await CreateStoreAsync();
        var again = await store.MigrateAsync(Ct);
        Assert.Empty(again.Applied);
        Assert.Equal(again.PreviousVersion, again.CurrentVersion);
        Assert.True(again.CurrentVersion >= 1);
    }

    [Fact]
    public async Task UpsertAccount_ThenGet_RoundTripsEveryField()
    {
        var store = await StoreWithLendersAsync();
        var (stored, created) = await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);
        var read = await store.GetAccountAsync("lender-a", "acc-1", Ct);

        Assert.True(created);
        Assert.Equal(1, stored.Revision);
        Assert.NotNull(read);
        Assert.Equal("b-1", read.BorrowerId);
        Assert.Equal(new Location("US", "US-MA", "02110", "America/New_York"), read.Location);
        Assert.Equal("hash-1", Assert.Single(read.ContactPoints).ValueHash);
        Assert.Equal(["America/New_York"], read.ContactPoints[0].TimeZones);
        Assert.Equal(PartyRole.EmergencyContact, Assert.Single(read.Parties).Role);
        Assert.Equal("hash-2", read.Parties[0].ContactPoints[0].ValueHash);
        Assert.Equal(["US-MA"], read.Profiles);
        Assert.Equal([1, 2, 3, 4, 5], Assert.Single(read.InconvenientTimes).Weekdays);
    }

    [Fact]
    public async Task UpsertAccount_Again_IncrementsRevision_KeepsCreatedAtAndFlags()
    {
        var store = await StoreWithLendersAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);
        var flag = new Flag("flg-1", FlagType.AttorneyRepresented, T0, null, Channel.Unspecified, "", "", "letter from counsel", "key-1", null);
        await store.AddFlagAsync("lender-a", "acc-1", flag, T0, Ct);

        var later = NewAccount("lender-a", "acc-1") with { BorrowerName = "Jane Doe", UpdatedAt = T0.AddHours(1) };
        var (stored, created) = await store.UpsertAccountAsync(later, Ct);

        Assert.False(created);
        Assert.Equal(2, stored.Revision);
        Assert.Equal(T0, stored.CreatedAt);
        Assert.Equal("Jane Doe", (await store.GetAccountAsync("lender-a", "acc-1", Ct))!.BorrowerName);
        Assert.Equal("flg-1", Assert.Single(stored.Flags).FlagId);
    }

    [Fact]
    public async Task Accounts_AreInvisibleToOtherLenders()
    {
        var store = await StoreWithLendersAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);

        Assert.Null(await store.GetAccountAsync("lender-b", "acc-1", Ct));
        Assert.Empty((await store.ListAccountsAsync("lender-b", null, 10, null, Ct)).Items);
        Assert.Null(await store.AddFlagAsync("lender-b", "acc-1",
            new Flag("flg-x", FlagType.CeaseCommunication, T0, null, Channel.Unspecified, "", "", "", "k", null), T0, Ct));
        Assert.Null(await store.ClearFlagAsync("lender-b", "acc-1", "flg-x", T0, T0, Ct));
    }

    [Fact]
    public async Task IdsThatDifferOnlyInCase_AreSeparateRecords()
    {
        var store = await StoreWithLendersAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "E-1"), Ct);
        var (_, created) = await store.UpsertAccountAsync(NewAccount("lender-a", "e-1", borrowerId: "B-1") with { BorrowerName = "Li Wei" }, Ct);
        await store.AddFlagAsync("lender-a", "E-1", new Flag("F-1", FlagType.Dispute, T0, null, Channel.Unspecified, "", "", "", "k", null), T0, Ct);
        var second = await store.AddFlagAsync("lender-a", "e-1", new Flag("f-1", FlagType.Dispute, T0, null, Channel.Unspecified, "", "", "", "k", null), T0, Ct);

        Assert.True(created);
        Assert.NotNull(second);
        Assert.Equal("Jane Roe", (await store.GetAccountAsync("lender-a", "E-1", Ct))!.BorrowerName);
        Assert.Equal("f-1", Assert.Single((await store.GetAccountAsync("lender-a", "e-1", Ct))!.Flags).FlagId);
        Assert.Equal(["E-1"], (await store.AccountsOfBorrowerAsync("lender-a", "b-1", Ct)).Select(a => a.AccountId));
        // Pages go in ordinal order, as the service compares keys: upper case first.
        Assert.Equal(["E-1", "e-1"], (await store.ListAccountsAsync("lender-a", null, 10, null, Ct)).Items.Select(a => a.AccountId));
    }

    [Fact]
    public async Task SameAccountId_InTwoLenders_AreSeparateRecords()
    {
        var store = await StoreWithLendersAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);
        var (_, created) = await store.UpsertAccountAsync(NewAccount("lender-b", "acc-1") with { BorrowerName = "Li Wei" }, Ct);

        Assert.True(created);
        Assert.Equal("Jane Roe", (await store.GetAccountAsync("lender-a", "acc-1", Ct))!.BorrowerName);
        Assert.Equal("Li Wei", (await store.GetAccountAsync("lender-b", "acc-1", Ct))!.BorrowerName);
    }

    [Fact]
    public async Task ListAccounts_PagesInIdOrder_AndFiltersByBorrower()
    {
        var store = await StoreWithLendersAsync();
        foreach (var id in new[] { "acc-3", "acc-1", "acc-2", "acc-4", "acc-5" })
        {
            await store.UpsertAccountAsync(NewAccount("lender-a", id, borrowerId: id == "acc-2" ? "b-2" : "b-1"), Ct);
        }

        var first = await store.ListAccountsAsync("lender-a", null, 2, null, Ct);
        var second = await store.ListAccountsAsync("lender-a", null, 2, first.NextAfter, Ct);
        var third = await store.ListAccountsAsync("lender-a", null, 2, second.NextAfter, Ct);
        var ofB2 = await store.ListAccountsAsync("lender-a", "b-2", 10, null, Ct);

        Assert.Equal(["acc-1", "acc-2"], first.Items.Select(a => a.AccountId));
        Assert.Equal(["acc-3", "acc-4"], second.Items.Select(a => a.AccountId));
        Assert.Equal(["acc-5"], third.Items.Select(a => a.AccountId));
        Assert.Null(third.NextAfter);
        Assert.Equal("acc-2", Assert.Single(ofB2.Items).AccountId);
    }

    [Fact]
    public async Task AccountsOfABorrower_AreEveryOneOfTheLenders_WithTheirPartiesAndFlags()
    {
        var store = await StoreWithBorrowersAsync();

        var ofB1 = await store.AccountsOfBorrowerAsync("lender-a", "b-1", Ct);

        Assert.Equal(["acc-1", "acc-2"], ofB1.Select(a => a.AccountId));
        // A consumer's requests on one debt apply to the others: they are read with the borrower's accounts.
        Assert.Equal("flg-1", Assert.Single(ofB1[0].Flags).FlagId);
        Assert.Empty(ofB1[1].Flags);
        Assert.Equal((await store.GetAccountAsync("lender-a", "acc-1", Ct))!.Parties.Select(p => p.PartyId), ofB1[0].Parties.Select(p => p.PartyId));
        Assert.NotEmpty(ofB1[0].Parties);
    }

    [Fact]
    public async Task AccountsReadTogether_AreTheAccountsReadOneByOne()
    {
        var store = await StoreWithBorrowersAsync();
        await store.AddFlagAsync("lender-a", "acc-1", new Flag("flg-2", FlagType.WrongNumber, T0.AddMinutes(1), null, Channel.Unspecified, "", "cp-1", "", "key-1", null), T0, Ct);
        await store.AddFlagAsync("lender-a", "acc-3", new Flag("flg-3", FlagType.AttorneyRepresented, T0, null, Channel.Unspecified, "", "", "", "key-1", null), T0, Ct);

        var accounts = await store.GetAccountsAsync("lender-a", ["acc-1", "acc-3", "acc-9", "nope"], Ct);
        var borrowers = await store.AccountsOfBorrowersAsync("lender-a", ["b-1", "b-2", "b-none"], Ct);

        // Another lender's account and an unknown id are absent, as GetAccountAsync answers null for them.
        Assert.Equal(["acc-1", "acc-3"], accounts.Keys.Order());
        foreach (var (id, account) in accounts)
        {
            var one = (await store.GetAccountAsync("lender-a", id, Ct))!;
            Assert.Equal(one.Flags.Select(f => f.FlagId), account.Flags.Select(f => f.FlagId));
            Assert.Equal(one.Parties.Select(p => p.PartyId), account.Parties.Select(p => p.PartyId));
            Assert.Equal(one.BorrowerId, account.BorrowerId);
            Assert.Equal(one.Revision, account.Revision);
        }

        Assert.Equal(["flg-1", "flg-2"], accounts["acc-1"].Flags.Select(f => f.FlagId));
        Assert.Equal(["b-1", "b-2", "b-none"], borrowers.Keys.Order());
        Assert.Empty(borrowers["b-none"]);
        foreach (var borrower in new[] { "b-1", "b-2" })
        {
            var one = await store.AccountsOfBorrowerAsync("lender-a", borrower, Ct);
            Assert.Equal(one.Select(a => a.AccountId), borrowers[borrower].Select(a => a.AccountId));
            Assert.Equal(one.Select(a => string.Join(",", a.Flags.Select(f => f.FlagId))), borrowers[borrower].Select(a => string.Join(",", a.Flags.Select(f => f.FlagId))));
        }

        Assert.Equal(["acc-1", "acc-2"], borrowers["b-1"].Select(a => a.AccountId));
        Assert.Empty(await store.GetAccountsAsync("lender-a", [], Ct));
    }

    [Fact]
    public async Task Flags_KeepTheirConsentWindowAndSource()
    {
        var store = await StoreWithLendersAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);
        var consent = new Flag("flg-c", FlagType.ConsentToContact, T0, T0.AddDays(4), Channel.VoiceCall, "", "", "call back on Monday", "key-1", null,
            WindowFrom: T0.AddDays(3));
        var wrong = new Flag("flg-w", FlagType.WrongNumber, T0, null, Channel.Unspecified, "", "", "", "key-1", null, Source: (int)WrongNumberSource.ReassignedNumbersCheck);
        await store.AddFlagAsync("lender-a", "acc-1", consent, T0, Ct);
        await store.AddFlagAsync("lender-a", "acc-1", wrong, T0, Ct);

        var flags = (await store.GetAccountAsync("lender-a", "acc-1", Ct))!.Flags;

        Assert.Equal(T0.AddDays(3), flags.Single(f => f.FlagId == "flg-c").WindowFrom);
        Assert.Null(flags.Single(f => f.FlagId == "flg-w").WindowFrom);
        Assert.Equal((int)WrongNumberSource.ReassignedNumbersCheck, flags.Single(f => f.FlagId == "flg-w").Source);
    }

    [Fact]
    public async Task ClearFlag_EndsTheFlag_AndKeepsItInHistory()
    {
        var store = await StoreWithLendersAsync();
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);
        var flag = new Flag("flg-1", FlagType.MediumOptOut, T0, T0.AddDays(30), Channel.Sms, "", "", "", "key-1", null);
        await store.AddFlagAsync("lender-a", "acc-1", flag, T0, Ct);

        var cleared = await store.ClearFlagAsync("lender-a", "acc-1", "flg-1", T0.AddDays(1), T0.AddDays(1), Ct);
        var clearedAgain = await store.ClearFlagAsync("lender-a", "acc-1", "flg-1", T0.AddDays(2), T0.AddDays(2), Ct);
        var account = await store.GetAccountAsync("lender-a", "acc-1", Ct);

        Assert.Equal(T0.AddDays(1), cleared!.ClearedAt);
        Assert.Equal(T0.AddDays(1), clearedAgain!.ClearedAt);
        Assert.True(account!.Flags.Single().InForceAt(T0.AddHours(1)));
        Assert.False(account.Flags.Single().InForceAt(T0.AddDays(1)));
        Assert.Equal(Channel.Sms, account.Flags.Single().Channel);
    }

    [Fact]
    public async Task ApiKeys_CreateFindRevoke_ScopedToLender()
    {
        var store = await StoreWithLendersAsync();
        await store.CreateApiKeyAsync(new ApiKey("k1", "lender-a", Role.Auditor, "audit", "hash", T0, null), Ct);

        Assert.Equal(Role.Auditor, (await store.GetApiKeyAsync("k1", Ct))!.Role);
        Assert.Null(await store.RevokeApiKeyAsync("lender-b", "k1", T0, Ct));
        Assert.Null((await store.GetApiKeyAsync("k1", Ct))!.RevokedAt);
        Assert.Equal(T0, (await store.RevokeApiKeyAsync("lender-a", "k1", T0, Ct))!.RevokedAt);
        Assert.Single((await store.ListApiKeysAsync("lender-a", 10, null, Ct)).Items);
        Assert.Empty((await store.ListApiKeysAsync("lender-b", 10, null, Ct)).Items);
    }

    [Fact]
    public async Task CreateLender_Twice_ReturnsFalse()
    {
        var store = await StoreWithLendersAsync();
        Assert.False(await store.CreateLenderAsync(new Lender("lender-a", "Again", "US", T0), Ct));
    }

    [Fact]
    public async Task Collectors_AndAgencies_UpsertAndList()
    {
        var store = await StoreWithLendersAsync();
        await store.UpsertAgencyAsync(new Agency("lender-a", "ag-1", "Agency One", true), Ct);
        await store.UpsertAgencyAsync(new Agency("lender-a", "ag-1", "Agency 1", false), Ct);
        await store.UpsertCollectorAsync(new Collector("lender-a", "c-1", "ag-1", "Ann", CollectorKind.Human, true), T0, Ct);
        await store.UpsertCollectorAsync(new Collector("lender-a", "c-2", "ag-2", "Bot", CollectorKind.AiVoice, true), T0, Ct);

        Assert.Equal(new Agency("lender-a", "ag-1", "Agency 1", false), Assert.Single((await store.ListAgenciesAsync("lender-a", 10, null, Ct)).Items));
        Assert.Equal(CollectorKind.AiVoice, (await store.GetCollectorAsync("lender-a", "c-2", Ct))!.Kind);
        Assert.Null(await store.GetCollectorAsync("lender-b", "c-2", Ct));
        Assert.Equal("c-1", Assert.Single((await store.ListCollectorsAsync("lender-a", "ag-1", 10, null, Ct)).Items).CollectorId);
    }

    [Fact]
    public async Task ACollector_IsInactiveFromWhenItWasMadeInactive_UntilItIsActiveAgain()
    {
        var store = await StoreWithLendersAsync();
        var ann = new Collector("lender-a", "c-1", "ag-1", "Ann", CollectorKind.Human, true);

        var active = await store.UpsertCollectorAsync(ann, T0, Ct);
        var deactivated = await store.UpsertCollectorAsync(ann with { Active = false }, T0.AddHours(1), Ct);
        var renamedWhileInactive = await store.UpsertCollectorAsync(ann with { Active = false, DisplayName = "Ann B." }, T0.AddHours(2), Ct);
        var reactivated = await store.UpsertCollectorAsync(ann with { DisplayName = "Ann B." }, T0.AddHours(3), Ct);
        var registeredInactive = await store.UpsertCollectorAsync(new Collector("lender-a", "c-9", "ag-1", "Left", CollectorKind.Human, false), T0.AddHours(4), Ct);

        Assert.Null(active.InactiveSince);
        Assert.Equal(T0.AddHours(1), deactivated.InactiveSince);
        Assert.Equal((T0.AddHours(1), "Ann B."), (renamedWhileInactive.InactiveSince, renamedWhileInactive.DisplayName));
        Assert.Null(reactivated.InactiveSince);
        Assert.Equal(T0.AddHours(4), registeredInactive.InactiveSince);
        Assert.Equal(registeredInactive, await store.GetCollectorAsync("lender-a", "c-9", Ct));
        Assert.True(deactivated.ActiveAt(T0.AddMinutes(59)));
        Assert.False(deactivated.ActiveAt(T0.AddHours(1)));
    }

    [Fact]
    public async Task Ping_Answers()
    {
        var store = await CreateStoreAsync();
        Assert.True(await store.PingAsync(Ct));
    }

    private static ReportKey DailyReport(string lenderId) =>
        new(lenderId, "daily-2026-11-02", Compliance.Domain.Reports.ReportKind.Daily, new DateTimeOffset(T0.Date, TimeSpan.Zero), new DateTimeOffset(T0.Date.AddDays(1), TimeSpan.Zero), "", "UTC");

    [Fact]
    public async Task ReportClaim_AdmitsOneBuilder_UntilItsLeaseRunsOut()
    {
        var store = await StoreWithLendersAsync();
        var key = DailyReport("lender-a");

        var first = await store.ClaimReportAsync(key, "replica-1", "schedule", T0, TimeSpan.FromMinutes(10), Ct);
        var second = await store.ClaimReportAsync(key, "replica-2", "schedule", T0.AddMinutes(5), TimeSpan.FromMinutes(10), Ct);
        var lost = await store.IssueReportAsync(key, "replica-2", T0, 1, "{}", "{}", "x", new { }, Ct);
        var takenOver = await store.ClaimReportAsync(key, "replica-2", "schedule", T0.AddMinutes(11), TimeSpan.FromMinutes(10), Ct);
        var late = await store.IssueReportAsync(key, "replica-1", T0, 1, "{}", "{}", "x", new { }, Ct);

        Assert.Equal(ReportClaimOutcome.Claimed, first.Outcome);
        Assert.Equal(ReportClaimOutcome.Busy, second.Outcome);
        Assert.Null(lost);
        Assert.Equal(ReportClaimOutcome.Claimed, takenOver.Outcome);
        Assert.Null(late);
    }

    [Fact]
    public async Task IssuedReport_IsReadBack_WithItsLedgerEntry_AndNeverReplaced()
    {
        var store = await StoreWithLendersAsync();
        var key = DailyReport("lender-a");
        await store.ClaimReportAsync(key, "replica-1", "schedule", T0, TimeSpan.FromMinutes(10), Ct);

        var issued = await store.IssueReportAsync(key, "replica-1", T0.AddDays(1), 0, "{\"empty\":true}", "{\"content\":1}", "abc", new { report = "daily" }, Ct);
        var again = await store.ClaimReportAsync(key, "replica-2", "someone", T0.AddDays(2), TimeSpan.FromMinutes(10), Ct);
        var listed = await store.ListReportsAsync("lender-a", Compliance.Domain.Reports.ReportKind.Unspecified, 10, null, Ct);
        var otherLender = await store.GetReportAsync("lender-b", key.ReportId, withContent: true, Ct);
        var entry = await store.EntriesAsync("lender-a", issued!.LedgerEntry, issued.LedgerEntry, Ct).SingleAsync(Ct);

        Assert.Equal("{\"content\":1}", issued.Content);
        Assert.Equal(ReportClaimOutcome.Issued, again.Outcome);
        Assert.Equal("schedule", again.Report.RequestedBy);
        Assert.Equal(key.ReportId, Assert.Single(listed.Items).Key.ReportId);
        Assert.Null(otherLender);
        Assert.Equal(Compliance.Domain.Ledger.LedgerKind.Report, entry.Kind);
        Assert.Equal(key.ReportId, entry.RefId);
    }

    private static Incident NewIncident(string lenderId, string incidentId, Compliance.Domain.Rules.Severity severity, DateTimeOffset at) =>
        new(lenderId, incidentId, "BASE.address-book-blast", "citation", severity, "acc-1", "c-1", "summary", ["e-1"], at, at, null, "", "");

    [Fact]
    public async Task Incidents_AreNumberedPerLender_InTheOrderStored_AndReadBackAfterASequence()
    {
        var store = await StoreWithLendersAsync();
        const Compliance.Domain.Rules.Severity High = Compliance.Domain.Rules.Severity.High, Low = Compliance.Domain.Rules.Severity.Low;
        var empty = await store.LastIncidentSequenceAsync("lender-a", Ct);
        // Ids and times out of order: the sequence follows the order of the commits, not either.
        await store.RunIngestAsync(async s =>
        {
            await s.AddIncidentAsync(NewIncident("lender-a", "inc-z", High, T0.AddHours(2)));
            await s.AddIncidentAsync(NewIncident("lender-b", "inc-b1", High, T0));
            await s.AddIncidentAsync(NewIncident("lender-a", "inc-a", Low, T0));
        }, Ct);
        await store.RunIngestAsync(s => s.AddIncidentAsync(NewIncident("lender-a", "inc-m", High, T0.AddHours(1))), Ct);
        await store.RunIngestAsync(s => s.AddIncidentAsync(NewIncident("lender-b", "inc-b2", Low, T0)), Ct);

        var all = await store.IncidentsAfterAsync("lender-a", 0, Compliance.Domain.Rules.Severity.Unspecified, 100, Ct);
        var afterFirst = await store.IncidentsAfterAsync("lender-a", 1, Compliance.Domain.Rules.Severity.Unspecified, 100, Ct);
        var highOnly = await store.IncidentsAfterAsync("lender-a", 0, High, 100, Ct);
        var onePage = await store.IncidentsAfterAsync("lender-a", 0, Compliance.Domain.Rules.Severity.Unspecified, 2, Ct);
        var listed = await store.ListIncidentsAsync("lender-a", T0.AddDays(-1), T0.AddDays(1), Compliance.Domain.Rules.Severity.Unspecified, 10, null, Ct);

        Assert.Equal(0, empty);
        Assert.Equal([("inc-z", 1L), ("inc-a", 2L), ("inc-m", 3L)], all.Select(i => (i.IncidentId, i.Sequence)));
        Assert.Equal(["inc-a", "inc-m"], afterFirst.Select(i => i.IncidentId));
        Assert.Equal(["inc-z", "inc-m"], highOnly.Select(i => i.IncidentId));
        Assert.Equal(["inc-z", "inc-a"], onePage.Select(i => i.IncidentId));
        Assert.Equal(3, await store.LastIncidentSequenceAsync("lender-a", Ct));
        // Each lender has its own numbers, and never sees the other's incidents.
        Assert.Equal([("inc-b1", 1L), ("inc-b2", 2L)], (await store.IncidentsAfterAsync("lender-b", 0, Compliance.Domain.Rules.Severity.Unspecified, 100, Ct))
            .Select(i => (i.IncidentId, i.Sequence)));
        Assert.Empty(await store.IncidentsAfterAsync("lender-c", 0, Compliance.Domain.Rules.Severity.Unspecified, 100, Ct));
        Assert.Equal(all.Select(i => (i.IncidentId, i.Sequence)).OrderBy(i => i.IncidentId), listed.Items.Select(i => (i.IncidentId, i.Sequence)));
        // A write that fails keeps nothing, so it leaves no hole in the numbers.
        await Assert.ThrowsAnyAsync<Exception>(() => store.RunIngestAsync(async s =>
        {
            await s.AddIncidentAsync(NewIncident("lender-a", "inc-lost", High, T0));
            throw new InvalidOperationException("the batch fails");
        }, Ct));
        await store.RunIngestAsync(s => s.AddIncidentAsync(NewIncident("lender-a", "inc-next", High, T0)), Ct);
        Assert.Equal(("inc-next", 4L), (await store.IncidentsAfterAsync("lender-a", 3, Compliance.Domain.Rules.Severity.Unspecified, 100, Ct)).Select(i => (i.IncidentId, i.Sequence)).Single());
    }
}
