using Microsoft.Data.Sqlite;

namespace Compliance.Storage.Tests;

/// <summary>The store contract against a real SQLite file.</summary>
public sealed class SqliteStoreTests : GateLedgerContract, IAsyncDisposable
{
    private static CancellationToken Ct => CancellationToken.None;

    private readonly StoreFolder _folder = new("compliance-store-");

    protected override async Task<IComplianceStore> CreateStoreAsync()
    {
        var store = _folder.Keep(new SqliteStore(_folder.File($"{Guid.NewGuid():N}.db")));
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    protected override Task EditAsync(IComplianceStore store, string sql) => ExecuteAsync(((SqliteStore)store).Path, sql);

    [Fact]
    public async Task Upgrading_BindsTheRowsStoredBefore_OnceInTheMigrationsTransaction()
    {
        // A file as schema 13 left it: rows served as evidence, and a chain whose entries bind none of them.
        var path = _folder.File("unbound.db");
        var store = _folder.Keep(new SqliteStore(path));
        await store.MigrateAsync(Ct);
        await store.CreateLenderAsync(new Domain.Registry.Lender("lender-a", "Lender A", "US", T0), Ct);
        await store.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), Ct);
        await store.AddFlagAsync("lender-a", "acc-1", new Domain.Registry.Flag("flg-1", Domain.Registry.FlagType.Dispute, T0, null, Domain.Registry.Channel.Unspecified, "", "", "", "k", null), T0, Ct);
        await store.AddComplaintAsync(new Complaint("lender-a", "cmpl-1", ComplaintSource.Borrower, "r", "acc-1", T0, "text", ComplaintStatus.Received, null, T0, T0), Ct);
        await ExecuteAsync(path, """
            DELETE FROM schema_version WHERE version >= 14; UPDATE ledger SET payload = '{}';
            DROP TABLE registry_stamps; ALTER TABLE reports DROP COLUMN progress_counted; ALTER TABLE reports DROP COLUMN progress_total;
            DROP INDEX ix_incidents_seq; ALTER TABLE incidents DROP COLUMN seq; ALTER TABLE collectors DROP COLUMN stamp;
            DROP INDEX ix_event_log_violations;
            DROP INDEX ix_incidents_time; DROP INDEX ix_complaints_received; DROP INDEX ix_collectors_agency;
            DROP INDEX ix_accounts_borrower; CREATE INDEX ix_accounts_borrower ON accounts (lender_id, borrower_id);
            """);
        Assert.Empty(await BindingsAsync(store, "lender-a"));

        SqliteConnection.ClearAllPools();
        var upgraded = _folder.Keep(new SqliteStore(path));
        var status = await upgraded.MigrateAsync(Ct);
        var again = await _folder.Keep(new SqliteStore(path)).MigrateAsync(Ct);

        Assert.Equal(["0014_rows_bound", "0015_registry_stamps", "0016_report_progress", "0017_incident_sequence", "0018_violations_index", "0019_lookups_by_borrower_and_time"], status.Applied);
        Assert.Empty(again.Applied);
        var stored = await StoredAsync(upgraded, "lender-a");
        Assert.Equal(3, stored.Count);
        Assert.Equal(stored.OrderBy(s => s.Key), (await BindingsAsync(upgraded, "lender-a")).OrderBy(b => b.Key));
        Assert.Equal(3, await CountAsync(path, $"SELECT COUNT(*) FROM ledger WHERE kind = {(int)Domain.Ledger.LedgerKind.RowsBound}")); // one per table
    }

    [Fact]
    public async Task Upgrading_NumbersTheIncidentsStoredBefore_PerLenderInTheOrderStored_AndGoesOnFromThere()
    {
        // A file as schema 16 left it: incidents without a sequence, collectors without a stamp.
        var path = _folder.File("unnumbered.db");
        var store = _folder.Keep(new SqliteStore(path));
        await store.MigrateAsync(Ct);
        await store.CreateLenderAsync(new Domain.Registry.Lender("lender-a", "Lender A", "US", T0), Ct);
        await store.CreateLenderAsync(new Domain.Registry.Lender("lender-b", "Lender B", "US", T0), Ct);
        await store.UpsertAgencyAsync(new Domain.Registry.Agency("lender-a", "ag-1", "Agency", true), Ct);
        await store.UpsertCollectorAsync(new Domain.Registry.Collector("lender-a", "c-1", "ag-1", "Ann", Domain.Registry.CollectorKind.Human, true), T0, Ct);
        Incident At(string lender, string id, DateTimeOffset created) =>
            new(lender, id, "BASE.address-book-blast", "c", Domain.Rules.Severity.High, "acc-1", "c-1", "s", [], created, created, null, "", "");
        await store.RunIngestAsync(async s =>
        {
            await s.AddIncidentAsync(At("lender-a", "inc-2", T0.AddMinutes(2)));
            await s.AddIncidentAsync(At("lender-b", "inc-x", T0.AddMinutes(5)));
            await s.AddIncidentAsync(At("lender-a", "inc-1", T0.AddMinutes(1)));
            await s.AddIncidentAsync(At("lender-a", "inc-0", T0.AddMinutes(2)));
        }, Ct);
        await store.DisposeAsync();
        await ExecuteAsync(path, "DELETE FROM schema_version WHERE version >= 17; DROP INDEX ix_incidents_seq; ALTER TABLE incidents DROP COLUMN seq; ALTER TABLE collectors DROP COLUMN stamp; DROP INDEX ix_event_log_violations;"
            + " DROP INDEX ix_incidents_time; DROP INDEX ix_complaints_received; DROP INDEX ix_collectors_agency; DROP INDEX ix_accounts_borrower; CREATE INDEX ix_accounts_borrower ON accounts (lender_id, borrower_id);");

        SqliteConnection.ClearAllPools();
        var upgraded = _folder.Keep(new SqliteStore(path));
        var status = await upgraded.MigrateAsync(Ct);
        await upgraded.RunIngestAsync(s => s.AddIncidentAsync(At("lender-a", "inc-new", T0)), Ct);
        var numbered = await upgraded.IncidentsAfterAsync("lender-a", 0, Domain.Rules.Severity.Unspecified, 100, Ct);

        Assert.Equal(["0017_incident_sequence", "0018_violations_index", "0019_lookups_by_borrower_and_time"], status.Applied);
        // By the time they were stored, then by id; the first stored afterwards goes on from the last.
        Assert.Equal([("inc-1", 1L), ("inc-0", 2L), ("inc-2", 3L), ("inc-new", 4L)], numbered.Select(i => (i.IncidentId, i.Sequence)));
        Assert.Equal(1, Assert.Single(await upgraded.IncidentsAfterAsync("lender-b", 0, Domain.Rules.Severity.Unspecified, 100, Ct)).Sequence);
        Assert.Equal(0, (await upgraded.GetCollectorAsync("lender-a", "c-1", Ct))!.Stamp);
        await upgraded.DisposeAsync();
    }

    [Fact]
    public async Task Migrate_RefusesANewerSchema_WithAClearMessage()
    {
        var path = _folder.File("newer.db");
        var store = _folder.Keep(new SqliteStore(path));
        await store.MigrateAsync(CancellationToken.None);
        await using (var connection = new SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES (999, 'from the future', 0)";
            await command.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<SchemaTooNewException>(() => _folder.Keep(new SqliteStore(path)).MigrateAsync(CancellationToken.None));

        Assert.Equal(999, error.DatabaseVersion);
        Assert.Contains("newer schema", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventKeys_WaitingForTheBulkMerge_AreFoundBeforeAndAfterIt_AndAfterARestart()
    {
        var path = _folder.File("merge.db");
        var store = _folder.Keep(new SqliteStore(path, eventIndexBatch: 5));
        await store.MigrateAsync(Ct);
        static StoredEvent Text(int n) => new("lender-a", $"e-{n}", Domain.Events.EventKind.MessageSent, "acc-1", "b-1", "c-1", "", "", Domain.Registry.Channel.Sms,
            Domain.Rules.ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", Domain.Rules.DestinationClass.Own, "", Domain.Rules.AttemptOutcome.Delivered, 0,
            T0.AddMinutes(n), T0.AddMinutes(n), false, 0, [], null, Domain.Registry.ContactPointUse.Mobile, EventCounting.Attempt);
        async Task<(int Existing, int History)> ReadAsync(SqliteStore s)
        {
            var result = (0, 0);
            await s.RunIngestAsync(async session =>
            {
                var existing = await session.ExistingEventsAsync("lender-a", [.. Enumerable.Range(0, 13).Select(n => $"e-{n}")]);
                var history = await session.HistoriesAsync("lender-a", ["b-1"], T0.AddDays(-1));
                result = (existing.Count, history["b-1"].Count);
            }, Ct);
            return result;
        }

        // Three commits of four: the third finds eight waiting and sorts them beside the writer; once they are sorted,
        // each later commit merges a part of them (here one key). The third commit's own four wait in memory.
        for (var commit = 0; commit < 3; commit++)
        {
            await store.RunIngestAsync(async session =>
            {
                for (var n = commit * 4; n < commit * 4 + 4; n++)
                {
                    await session.AddEventAsync(Text(n));
                }
            }, Ct);
        }

        async Task<long> CommitUntilAsync(string sql)
        {
            for (var attempt = 0; attempt < 200 && await CountAsync(path, sql) == 0; attempt++)
            {
                await Task.Delay(10, Ct);
                await store.RunIngestAsync(_ => Task.CompletedTask, Ct);
            }

            return await CountAsync(path, sql);
        }

        var mergedPart = await CommitUntilAsync("SELECT COUNT(*) FROM event_keys");
        var indexedPart = await CountAsync(path, "SELECT indexed_seq FROM event_index_state");
        var midMerge = await ReadAsync(store);
        // Failed commits leave nothing behind, in the file or in memory, and the part of the merge each carried is
        // handed out again: one that failed with an event of its own (the writer reloads its keys from the log), and one
        // that failed before adding any while a reader reloaded the keys in between.
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.RunIngestAsync(async session =>
        {
            await session.AddEventAsync(Text(12));
            throw new InvalidOperationException("the batch fails");
        }, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.RunIngestAsync(_ => throw new InvalidOperationException("the batch fails"), Ct));
        var readerHistory = await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-1), Ct);
        var afterFailure = await ReadAsync(store);
        var indexed = await CommitUntilAsync("SELECT indexed_seq FROM event_index_state");
        var afterMerge = await ReadAsync(store);
        SqliteConnection.ClearAllPools();
        var restarted = _folder.Keep(new SqliteStore(path, eventIndexBatch: 5));
        var afterRestart = await ReadAsync(restarted);
        var gateHistory = await restarted.HistoryAsync("lender-a", "b-1", T0.AddDays(-1), Ct);
        var ofAccount = await restarted.EventsOfAccountAsync("lender-a", "acc-1", "b-1", T0, T0.AddHours(1), Ct);

        Assert.InRange(mergedPart, 1, 7);
        Assert.Equal(0, indexedPart);
        Assert.Equal((12, 12), midMerge);
        Assert.Equal(12, readerHistory.Count);
        Assert.Equal((12, 12), afterFailure);
        Assert.Equal((12, 12), afterMerge);
        Assert.Equal((12, 12), afterRestart);
        Assert.Equal(12, gateHistory.Count);
        Assert.Equal(Enumerable.Range(0, 12).Select(n => $"e-{n}"), ofAccount.Select(e => e.EventId));
        // The merge took the eight keys waiting when it began, every one of them; the third commit's four wait.
        Assert.Equal(8, indexed);
        Assert.Equal(8, await CountAsync(path, "SELECT COUNT(*) FROM event_keys"));
        Assert.Equal(8, await CountAsync(path, "SELECT COUNT(*) FROM borrower_events"));
    }

    [Fact]
    public async Task EventKeys_StayFoundWhileTheKeyFilterGrowsBesideTheWriter()
    {
        // The filter starts at about 100,000 keys and a larger one is filled beside the writer past three quarters of
        // that, while merges go on adding keys to both.
        var (store, path) = await MigratedAsync("filter.db", eventIndexBatch: 2_000);
        const int Events = 120_000;
        for (var commit = 0; commit < Events / 2_000; commit++)
        {
            var events = Enumerable.Range(commit * 2_000, 2_000).Select(n => Event($"e-{n}", borrower: $"b-{n % 500}", at: T0.AddSeconds(n))).ToList();
            await store.RunIngestAsync(session => session.AddEventsAsync(events), Ct);
        }

        // Commits without events carry the merges on until nearly every key is in the table (and so in the filter).
        await MergeKeysAsync(store, path, Events - 2_000);

        var found = 0;
        await store.RunIngestAsync(async session =>
        {
            foreach (var chunk in Enumerable.Range(0, Events).Select(n => $"e-{n}").Chunk(5_000))
            {
                found += (await session.ExistingEventsAsync("lender-a", chunk)).Count;
            }
        }, Ct);

        Assert.Equal(Events, found);
        Assert.InRange(await CountAsync(path, "SELECT COUNT(*) FROM event_keys"), Events - 2_000, Events);
    }

    [Fact]
    public async Task AFilterFilledFromTheKeyTable_HasEveryStoredKey_OfEveryLender()
    {
        var (store, path) = await MigratedAsync("fill.db", eventIndexBatch: 2_000);
        const int Events = 6_000;
        foreach (var lender in new[] { "lender-a", "贷方-b" })
        {
            var events = Enumerable.Range(0, Events).Select(n => Event($"e-{n}", lender, $"b-{n % 50}", T0.AddSeconds(n))).ToList();
            await store.RunIngestAsync(session => session.AddEventsAsync(events), Ct);
        }

        await MergeKeysAsync(store, path, 2 * Events);

        var filter = new EventKeyFilter(4 * Events);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync(Ct);
            await store.FillAsync(filter, connection);
        }

        Assert.Equal(2 * Events, await CountAsync(path, "SELECT COUNT(*) FROM event_keys"));
        Assert.Equal(2 * Events, filter.Count);
        Assert.All(Enumerable.Range(0, Events), n => Assert.True(filter.MayContain("lender-a", $"e-{n}") && filter.MayContain("贷方-b", $"e-{n}")));
    }

    [Fact]
    public async Task GroupCommits_AreCopiedIntoTheDatabaseFile_BesideTheWriter()
    {
        var (store, path) = await MigratedAsync("checkpoint.db");
        var before = new FileInfo(path).Length;

        // About 3 MB of rows in ten commits: less than the write-ahead log the writer would checkpoint by itself. A
        // commit made while a checkpoint runs is copied by another round, so all of them reach the file.
        var body = new string('x', 1000);
        for (var commit = 0; commit < 10; commit++)
        {
            var events = Enumerable.Range(commit * 200, 200).Select(n => new StoredEvent("lender-a", $"e-{n}", Domain.Events.EventKind.MessageSent, "acc-1", "b-1",
                "c-1", "", "", Domain.Registry.Channel.Sms, Domain.Rules.ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", Domain.Rules.DestinationClass.Own, "",
                Domain.Rules.AttemptOutcome.Delivered, 0, T0.AddSeconds(n), T0, false, 0, [], body)).ToList();
            await store.RunIngestAsync(session => session.AddEventsAsync(events), Ct);
        }

        // Every page the database holds (counting those still in the log) is in the file once all is copied.
        var size = await CountAsync(path, "PRAGMA page_count") * await CountAsync(path, "PRAGMA page_size");
        for (var attempt = 0; attempt < 500 && new FileInfo(path).Length != size; attempt++)
        {
            await Task.Delay(10, Ct);
        }

        Assert.True(size > before + 2_000_000, $"The database holds {size} bytes.");
        Assert.Equal(size, new FileInfo(path).Length);
        Assert.Equal(2000, await CountAsync(path, "SELECT COUNT(*) FROM event_log"));
    }

    [Fact]
    public async Task TheWriteAheadLog_StartsOverUnderSustainedIngest_OnceNoReaderHoldsItBack()
    {
        // A log of at most 64 pages (256 KB); its file is cut back to 512 KB when it starts over.
        var path = _folder.File("restart.db");
        var log = path + "-wal";
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<SqliteStore>();
        var store = _folder.Keep(new SqliteStore(path, logPages: 64, logger: logger));
        await store.MigrateAsync(Ct);
        var body = new string('x', 1000);
        var next = 0;
        Task CommitAsync()
        {
            var events = Enumerable.Range(next, 50).Select(n => new StoredEvent("lender-a", $"e-{n}", Domain.Events.EventKind.MessageSent, "acc-1", "b-1",
                "c-1", "", "", Domain.Registry.Channel.Sms, Domain.Rules.ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", Domain.Rules.DestinationClass.Own, "",
                Domain.Rules.AttemptOutcome.Delivered, 0, T0.AddSeconds(n), T0, false, 0, [], body)).ToList();
            next += 50;
            return store.RunIngestAsync(session => session.AddEventsAsync(events), Ct);
        }

        // A reader holding one snapshot keeps every later frame in the log: it grows well past its limit.
        await using (var reader = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await reader.OpenAsync();
            await using var snapshot = reader.BeginTransaction(deferred: true);
            await using var read = reader.CreateCommand();
            read.CommandText = "SELECT COUNT(*) FROM event_log";
            read.Transaction = snapshot;
            await read.ExecuteScalarAsync();
            for (var commit = 0; commit < 40; commit++)
            {
                await CommitAsync();
            }

            Assert.True(new FileInfo(log).Length > 2_000_000, $"The log file holds {new FileInfo(log).Length} bytes.");
        }

        // The operator hears why: the writer tried to start the log over and a reader kept it.
        Assert.Contains(logger.Collector.GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning && r.Message.Contains("could not start over", StringComparison.Ordinal));

        // Once the reader is gone, commits back to back (no pause for the background checkpoints to catch up), with
        // short reads beside them, as the ingest scorer makes: the log starts over, its file is cut back, and it stays short.
        using var stop = new CancellationTokenSource();
        var reads = Task.Run(async () =>
        {
            var count = 0L;
            while (!stop.IsCancellationRequested)
            {
                count = await CountAsync(path, "SELECT seq FROM event_log ORDER BY seq DESC LIMIT 1");
            }

            return count;
        });
        var sizes = new List<long>();
        for (var commit = 0; commit < 120; commit++)
        {
            await CommitAsync();
            if (commit >= 20)
            {
                sizes.Add(new FileInfo(log).Length);
            }
        }

        await stop.CancelAsync();
        Assert.True(await reads > 0);
        // A log that never started over would pass 6 MB by now (100 commits of about 60 KB). On a busy machine a read
        // can overlap a restart or two and let the file grow past its cut-back size for a moment, so the bound is on
        // the typical size and, more loosely, on the largest.
        sizes.Sort();
        Assert.InRange(sizes[sizes.Count / 2], 1, 1_000_000);
        Assert.InRange(sizes[^1], 1, 3_000_000);
        Assert.Equal(8_000, await CountAsync(path, "SELECT COUNT(*) FROM event_log"));
    }

    [Fact]
    public async Task TheWriteAheadLog_StaysShort_UnderGateDecisionsAlone()
    {
        // No group commits: the decisions' own writes start the log over (each between two group commits, if there were any).
        var path = _folder.File("gate-log.db");
        var store = _folder.Keep(new SqliteStore(path, logPages: 64));
        await store.MigrateAsync(Ct);
        var largest = 0L;
        for (var n = 0; n < 1500; n++)
        {
            await store.DecideAsync("lender-a", $"b-{n % 50}", T0.AddDays(-31), _ => new GateOutcome(Decision($"dec-{n}", true, T0), Call(T0)), Ct);
            largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
        }

        // Each is written into the database by a write transaction the store starts after answering it.
        Assert.Equal(1500, await CountOnceAsync(path, "SELECT COUNT(*) FROM decisions", n => n >= 1500));
        Assert.InRange(largest, 1, 1_500_000);
        await store.DisposeAsync();
    }

    [Fact]
    public async Task AWriter_WaitingBehindAnIngestCommit_GoesBeforeTheNextOne()
    {
        var store = _folder.Keep(new SqliteStore(_folder.File("turns.db")));
        await store.MigrateAsync(Ct);
        // An ingest commit holds the write lock; a ledger append asks meanwhile, then the next ingest commit.
        var (first, release) = await HoldAnIngestCommitAsync(store, session => session.AddEventAsync(Event("e-1")));
        var append = Task.Run(() => store.AppendAsync("lender-a", Domain.Ledger.LedgerKind.Complaint, "cmp-1", "acc-1", T0, new { Note = "between" }, Ct));
        await Task.Delay(300, Ct);
        var second = Task.Run(() => store.RunIngestAsync(session => session.AddEventAsync(Event("e-2")), Ct));
        await Task.Delay(100, Ct);
        release.SetResult();
        await Task.WhenAll(first, append, second);

        // Without turns, the append's connection finds the lock taken and Microsoft.Data.Sqlite retries it only every
        // 150 ms: the next commit takes the lock first and the append waits for it too.
        var kinds = (await store.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct)).Select(e => e.Kind);
        Assert.Equal([Domain.Ledger.LedgerKind.EventBatch, Domain.Ledger.LedgerKind.Complaint, Domain.Ledger.LedgerKind.EventBatch], kinds);
    }

    [Fact]
    public async Task AGateDecision_IsAnswered_WhileAnIngestCommitHoldsTheWriteLock_AndWrittenRightAfter()
    {
        var (store, path) = await MigratedAsync("journal.db");
        var (ingest, release) = await HoldAnIngestCommitAsync(store);

        var decision = await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-1", true, T0), Call(T0)), Ct)
            .WaitAsync(TimeSpan.FromSeconds(10), Ct);

        // Answered with the lock still held: journaled, and read from there by the store's reads.
        Assert.False(ingest.IsCompleted);
        Assert.Equal(0, await CountAsync(path, "SELECT COUNT(*) FROM decisions"));
        Assert.Equal(1, await CountAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions"));
        Assert.Equal(decision, await store.GetDecisionAsync("lender-a", "dec-1", Ct));
        Assert.Equal(T0, Assert.Single(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct)).At);
        await store.RunIngestReadAsync(async session => Assert.True(await session.ReservationPendingAsync("lender-a", "dec-1")), Ct);

        // A second decision on the same borrower sees the first's reservation.
        IReadOnlyList<Domain.Rules.Attempt>? seen = null;
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), history =>
        {
            seen = history;
            return new GateOutcome(Decision("dec-2", false, T0), null);
        }, Ct);
        Assert.Single(seen!);

        // Once the lock is free, the next write transaction writes both, with their ledger entries, and the journal forgets them.
        release.SetResult();
        await ingest;
        Assert.Equal(0, await CountOnceAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions", n => n == 0));
        Assert.Equal(2, await CountAsync(path, "SELECT COUNT(*) FROM decisions"));
        Assert.Equal(1, await CountAsync(path, "SELECT COUNT(*) FROM attempts"));
        Assert.Equal(["dec-1", "dec-2"], (await store.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct)).Select(e => e.RefId));
        Assert.Equal(T0, Assert.Single(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct)).At);
        await store.DisposeAsync();
    }

    [Fact]
    public async Task AWriteTransaction_FindsAndConfirms_ADecisionAnsweredAfterItBegan()
    {
        // Scoring inside the group commit (no pipeline): the dialer asked and placed its call while the commit was open.
        var (store, path) = await MigratedAsync("catch-up.db");
        var confirmed = false;
        var stillPending = true;
        IReadOnlyList<AttemptRow>? seen = null;
        await store.RunIngestAsync(async session =>
        {
            // The commit has appended to the lender's chain before the decision is answered.
            await session.AddFlagAsync("lender-a", "acc-1", new Domain.Registry.Flag("flag-1", Domain.Registry.FlagType.Dispute, T0, null, Domain.Registry.Channel.Unspecified, "", "", "test", "tester", null), T0);
            await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-1", true, T0), Call(T0)), Ct);
            confirmed = await session.ConfirmReservationAsync("lender-a", "dec-1", "call-1", T0.AddSeconds(5));
            // Written by this transaction and still held in memory until it commits: a second confirmation is simply refused.
            Assert.False(await session.ConfirmReservationAsync("lender-a", "dec-1", "call-2", T0.AddSeconds(6)));
            // Confirmed in the database while the decision is still in memory too: the database's answer wins, and it counts once.
            stillPending = await session.ReservationPendingAsync("lender-a", "dec-1");
            seen = (await session.HistoriesAsync("lender-a", ["b-1"], T0.AddDays(-31)))["b-1"];
        }, Ct);

        Assert.True(confirmed);
        Assert.False(stillPending);
        Assert.Equal(T0.AddSeconds(5), Assert.Single(seen!).Attempt.At);
        // One chain, in order: the flag, the decision, then anything after.
        var entries = await store.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct);
        Assert.Equal([Domain.Ledger.LedgerKind.FlagSet, Domain.Ledger.LedgerKind.Decision], entries.Select(e => e.Kind));
        Assert.Equal(entries[0].Hash, entries[1].PrevHash);
        // A denied decision has nothing to release, also in the transaction that writes it.
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-2", false, T0), null), Ct);
        Assert.Null(await store.ReleaseReservationAsync("lender-a", "dec-2", T0.AddMinutes(1), Ct));
        // Confirmed: counted once, as the call at its own time, and no longer a reservation that could lapse.
        Assert.Equal(T0.AddSeconds(5), Assert.Single(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct)).At);
        Assert.Empty(await store.ReleaseExpiredAsync(T0.AddHours(1), Ct));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task TheGatesRememberedHistory_HasItsOwnDecisions_AndIsReadAgainAfterEveryOtherWrite()
    {
        // The gate remembers a borrower's history between decisions; every change made by another write must show.
        var (store, _) = await MigratedAsync("remembered.db");
        async Task<IReadOnlyList<Domain.Rules.Attempt>> DecideAsync(string id, bool allowed)
        {
            IReadOnlyList<Domain.Rules.Attempt>? seen = null;
            await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), history =>
            {
                seen = history.ToList();
                return new GateOutcome(Decision(id, allowed, T0), allowed ? Call(T0) : null);
            }, Ct);
            return seen!;
        }

        Assert.Empty(await DecideAsync("dec-1", true));
        Assert.Single(await DecideAsync("dec-2", true));
        // Written into the database by the store's own write: the history is the same.
        Assert.Equal(0, await CountOnceAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions", n => n == 0));
        Assert.Equal(2, (await DecideAsync("dec-3", false)).Count);

        // A release, a confirmation by an event and a lapse are each read again.
        Assert.Equal("b-1", await store.ReleaseReservationAsync("lender-a", "dec-1", T0, Ct));
        Assert.Single(await DecideAsync("dec-4", false));
        await store.RunIngestAsync(async session => Assert.True(await session.ConfirmReservationAsync("lender-a", "dec-2", "call-1", T0.AddSeconds(5))), Ct);
        Assert.Equal(T0.AddSeconds(5), Assert.Single(await DecideAsync("dec-5", true)).At);
        Assert.Equal([("lender-a", "dec-5", "b-1")], await store.ReleaseExpiredAsync(T0.AddHours(1), Ct));
        Assert.Equal(T0.AddSeconds(5), Assert.Single(await DecideAsync("dec-6", false)).At);
        Assert.Equal(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct), await DecideAsync("dec-7", false));
        await store.DisposeAsync();
    }

    [Fact]
    public void TheGatesRememberedHistories_AreBounded_AndHoldOnlyWhatNoWriteHasOutdated()
    {
        var histories = new GateHistories(maxBorrowers: 10);
        GateHistories.Entry Remember(string borrower, long generation) =>
            histories.Remember("lender-a", borrower, "c-1", generation, T0, new RegistryStamps(1, 1), [Call(T0)]);

        for (var i = 0; i < 50; i++)
        {
            Remember($"b-{i}", histories.Generation);
        }

        // At most the bound, the latest among them.
        Assert.InRange(histories.Count, 1, 10);
        Assert.NotNull(histories.TryGet("lender-a", "b-49", "c-1", T0));

        // A write outdates them all, and they are dropped.
        histories.Invalidate();
        Assert.Equal(0, histories.Count);
        var fresh = Remember("b-1", histories.Generation);
        Assert.Same(fresh, histories.TryGet("lender-a", "b-1", "c-1", T0));

        // One read before that write and remembered after it is never used.
        Remember("b-2", histories.Generation - 1);
        Assert.Null(histories.TryGet("lender-a", "b-2", "c-1", T0));
    }

    [Fact]
    public async Task AHistoryReadFromTheDatabase_KeepsEqualIdsOnce()
    {
        // The cached histories hold what is read: the same account, collector and destination on every row are one string each.
        var (store, _) = await MigratedAsync("shared.db");
        for (var i = 0; i < 3; i++)
        {
            await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision($"dec-{i}", true, T0), Call(T0.AddSeconds(i))), Ct);
        }

        // Written into the database: the next read takes them from there, not from the journal's copies.
        Assert.Equal(0, await CountOnceAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions", n => n == 0));
        var history = await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct);

        Assert.Equal(3, history.Count);
        Assert.All(history, a => Assert.Same(history[0].AccountId, a.AccountId));
        Assert.All(history, a => Assert.Same(history[0].CollectorId, a.CollectorId));
        Assert.All(history, a => Assert.Same(history[0].DestinationHash, a.DestinationHash));
        Assert.False(ReferenceEquals(history[0].AccountId, Call(T0).AccountId)); // read, not the literal the test wrote
        await store.DisposeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a journal made before its numbers were kept from reuse, as it is upgraded at start
    public async Task TheJournal_ForgetsWhatIsWritten_AlsoAfterItWasEmpty(bool journalOfAnOlderRelease)
    {
        var store = _folder.Keep(new SqliteStore(_folder.File("forget.db")));
        if (journalOfAnOlderRelease)
        {
            await ExecuteAsync(store.DecisionJournalPath, "CREATE TABLE pending_decisions (id INTEGER NOT NULL PRIMARY KEY, payload TEXT NOT NULL);");
        }

        await store.MigrateAsync(Ct);
        async Task DecideAndWaitAsync(string id)
        {
            await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision(id, false, T0), null), Ct);
            Assert.Equal(0, await CountOnceAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions", n => n == 0));
        }

        await DecideAndWaitAsync("dec-1");
        await DecideAndWaitAsync("dec-2");
        await DecideAndWaitAsync("dec-3");

        // Numbers are not used again once the journal was empty: each decision was forgotten once written.
        Assert.Equal(0, await CountAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions"));
        Assert.Equal(3, await CountAsync(_folder.File("forget.db"), "SELECT COUNT(*) FROM decisions"));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task AnAppendBeyondTheLimit_WaitsForTheDatabaseToCatchUp_InsteadOfBeingRefused()
    {
        var path = _folder.File("room.decisions.db");
        using var journal = new DecisionJournal(path, "FULL", 10);
        var first = new List<DecisionJournal.Entry>();
        for (var i = 0; i < 10; i++)
        {
            first.Add(await journal.AppendAsync("b-1", Decision($"dec-{i}", false, T0), null));
        }

        // The journal is full: the next append waits ...
        var waiting = journal.AppendAsync("b-1", Decision("dec-10", false, T0), null).AsTask();
        await Task.Delay(200, Ct);
        Assert.False(waiting.IsCompleted);

        // ... until the database has taken some of the decisions before it.
        journal.Written(first[4].Id);
        var entry = await waiting.WaitAsync(TimeSpan.FromSeconds(1), Ct);
        Assert.Equal("dec-10", entry.Decision.DecisionId);
        Assert.Equal(6, journal.Count);
    }

    [Fact]
    public async Task DecisionsJournaledAtOnce_ShareTransactions_AndEachIsDurableWhenAnswered_UpToTheLimit()
    {
        var path = _folder.File("group.decisions.db");
        var answered = new List<(string DecisionId, long Id)>();
        var refused = 0;
        using (var journal = new DecisionJournal(path, "FULL", 150))
        {
            var calls = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            {
                try
                {
                    var entry = await journal.AppendAsync($"b-{i % 7}", Decision($"dec-{i}", i % 2 == 0, T0), i % 2 == 0 ? Call(T0) : null);
                    lock (answered)
                    {
                        answered.Add((entry.Decision.DecisionId, entry.Id));
                    }
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref refused);
                }
            })).ToArray();
            await Task.WhenAll(calls);

            // Held in the order of their numbers, which no two share.
            Assert.Equal(answered.OrderBy(a => a.Id).Select(a => a.Id), journal.PendingAfter(0).Select(e => e.Id));
        }

        Assert.Equal((150, 50), (answered.Count, refused));
        Assert.Equal(150, answered.Select(a => a.Id).Distinct().Count());
        // Every answered decision is in the file, and none that was refused.
        using var reopened = new DecisionJournal(path, "FULL", 150);
        Assert.Equal(answered.Select(a => a.DecisionId).Order(StringComparer.Ordinal),
            reopened.PendingAfter(0).Select(e => e.Decision.DecisionId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AJournalOfAnOlderRelease_KeepsWhatItHolds_AndNeverNumbersAnEntryAgain()
    {
        // An entry as a journal of the older release held it, under number 7, in a table that reuses numbers.
        var donor = _folder.File("donor.decisions.db");
        using (var journal = new DecisionJournal(donor, "FULL", 10))
        {
            await journal.AppendAsync("b-1", Decision("dec-7", true, T0), Call(T0));
        }

        var path = _folder.File("older.decisions.db");
        await ExecuteAsync(path, $"""
            CREATE TABLE pending_decisions (id INTEGER NOT NULL PRIMARY KEY, payload TEXT NOT NULL);
            ATTACH '{donor}' AS donor;
            INSERT INTO pending_decisions (id, payload) SELECT id + 6, payload FROM donor.pending_decisions;
            """);

        using var upgraded = new DecisionJournal(path, "FULL", 10);
        var held = Assert.Single(upgraded.PendingAfter(0));
        upgraded.Written(held.Id);
        upgraded.Forget();
        var next = await upgraded.AppendAsync("b-1", Decision("dec-8", false, T0), null);

        Assert.Equal((7, "dec-7", T0), (held.Id, held.Decision.DecisionId, held.Reservation?.At));
        Assert.Equal(8, next.Id);
        Assert.Equal([next], upgraded.PendingAfter(held.Id));
    }

    [Fact]
    public async Task ADecisionTheDatabaseRefuses_LeavesOtherWritesAlone_AndIsWrittenOnceItCanBe()
    {
        var (store, path) = await MigratedAsync("refused.db");
        await ExecuteAsync(path, "CREATE TRIGGER refuse_decisions BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'refused'); END;");

        // Answered and read, though the database will not take it.
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-1", true, T0), Call(T0)), Ct);
        Assert.Equal("dec-1", (await store.GetDecisionAsync("lender-a", "dec-1", Ct))?.DecisionId);

        // An ingest commit that begins by trying to write it still stores its own event.
        await store.RunIngestAsync(session => session.AddEventAsync(Event("e-1")), Ct);
        Assert.Equal(1, await CountAsync(path, "SELECT COUNT(*) FROM event_log"));
        Assert.Equal(0, await CountAsync(path, "SELECT COUNT(*) FROM decisions"));
        Assert.Equal(1, await CountAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions"));
        Assert.Equal(T0, Assert.Single(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct)).At);

        // Its reservation cannot be confirmed yet: a store error, so the batch fails as a whole and is resent, not
        // stored without the event. Reads of the ledger, which first try to write it, go on with what is there.
        await Assert.ThrowsAsync<DecisionNotWrittenException>(() =>
            store.RunIngestAsync(session => session.ConfirmReservationAsync("lender-a", "dec-1", "call-1", T0.AddSeconds(5)), Ct));
        Assert.Equal(1, (await store.HeadAsync("lender-a", Ct))?.Seq);

        // Once the database takes decisions again, the store's retries write it.
        await ExecuteAsync(path, "DROP TRIGGER refuse_decisions;");
        Assert.Equal(1, await CountOnceAsync(path, "SELECT COUNT(*) FROM decisions", n => n > 0));
        Assert.Equal(T0, Assert.Single(await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct)).At);
        await store.DisposeAsync();
        Assert.Equal(0, await CountAsync(store.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions"));
    }

    [Fact]
    public async Task DecisionsAnswered_BeforeAStop_AreWrittenAtTheNextStart_OnceEach()
    {
        // The crash image: the files as they are after a decision was answered while an ingest commit held the lock.
        var (store, path) = await MigratedAsync("crash.db");
        var (ingest, release) = await HoldAnIngestCommitAsync(store);
        await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(Decision("dec-1", true, T0), Call(T0)), Ct);
        var image = Directory.CreateDirectory(_folder.File("image")).FullName;
        var copy = Path.Combine(image, "crash.db");
        // Without the shared-memory index, which SQLite rebuilds from the log as after a crash of the machine.
        foreach (var file in Directory.GetFiles(_folder.Path, "crash.*").Where(f => !f.EndsWith("-shm", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(image, Path.GetFileName(file)));
        }

        var journalImage = Directory.GetFiles(image, "crash.decisions.db*").ToDictionary(f => f, File.ReadAllBytes);
        release.SetResult();
        await ingest;
        await store.DisposeAsync();

        // Started on the image: the decision is written, with its reservation and ledger entry.
        var restarted = _folder.Keep(new SqliteStore(copy));
        await restarted.MigrateAsync(Ct);
        Assert.Equal(1, await CountAsync(copy, "SELECT COUNT(*) FROM decisions"));
        Assert.Equal(0, await CountAsync(restarted.DecisionJournalPath, "SELECT COUNT(*) FROM pending_decisions"));
        Assert.Equal(T0, Assert.Single(await restarted.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct)).At);
        await restarted.DisposeAsync();

        // A stop after the database had it but before the journal forgot it: started again, nothing is written twice.
        foreach (var (file, bytes) in journalImage)
        {
            await File.WriteAllBytesAsync(file, bytes, Ct);
        }

        var again = _folder.Keep(new SqliteStore(copy));
        await again.MigrateAsync(Ct);
        Assert.Equal(1, await CountAsync(copy, "SELECT COUNT(*) FROM decisions"));
        Assert.Equal(1, await CountAsync(copy, "SELECT COUNT(*) FROM attempts"));
        Assert.Equal(["dec-1"], (await again.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct)).Select(e => e.RefId));
        await again.DisposeAsync();
    }

    [Fact]
    public async Task EventBatches_ProveEachEvent_AndRecomputeFromTheLog()
    {
        var store = await CreateStoreAsync();
        await store.RunIngestAsync(async session =>
        {
            for (var n = 0; n < 5; n++)
            {
                await session.AddEventAsync(new StoredEvent("lender-a", $"e-{n}", Domain.Events.EventKind.MessageSent, "acc-1", "b-1", "c-1", "", "",
                    Domain.Registry.Channel.Sms, Domain.Rules.ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", Domain.Rules.DestinationClass.Own, "",
                    Domain.Rules.AttemptOutcome.Delivered, 0, T0.AddMinutes(n), T0, false, 0, [], null));
            }
        }, Ct);

        var entry = Assert.Single(await store.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct));
        var payload = System.Text.Json.JsonSerializer.Deserialize<EventBatchPayload>(entry.Payload, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        var (events, root) = await store.EventBatchRootAsync("lender-a", payload.FirstSeq, payload.LastSeq, Ct);
        var proof = (await store.EventProofsAsync("lender-a", [payload.FirstSeq + 3], Ct)).SingleOrDefault();

        Assert.Equal(Domain.Ledger.LedgerKind.EventBatch, entry.Kind);
        Assert.Equal((5, 5), (payload.Events, events));
        Assert.Equal(payload.Root, Convert.ToHexStringLower(root));
        Assert.Equal("e-3", proof!.Event.EventId);
        Assert.Equal(entry.Hash, proof.Batch.Hash);
        Assert.True(Domain.Ledger.MerkleTree.Verify(proof.Leaf, proof.Path, root));
        Assert.False(Domain.Ledger.MerkleTree.Verify(EventDigest.Leaf(proof.Event with { RiskScore = 1 }, "[]"), proof.Path, root));
    }

    [Fact]
    public async Task SealedEvents_AreAppendedWhereTheyWereSealedFor_AndRefusedOnceTheLogMovedOn()
    {
        var store = await CreateStoreAsync();
        static StoredEvent Text(int n) => new("lender-a", $"s-{n}", Domain.Events.EventKind.MessageSent, "acc-1", "b-1", "c-1", "", "", Domain.Registry.Channel.Sms,
            Domain.Rules.ContactPurpose.CollectDebt, "hash-1", "+1 617*****00", Domain.Rules.DestinationClass.Own, "", Domain.Rules.AttemptOutcome.Delivered, 0,
            T0.AddMinutes(n), T0, false, 0, [], null);

        // Sealed against a read of the committed log, as the ingest pipeline does while another batch is written.
        long next = 0;
        await store.RunIngestReadAsync(async reads => next = await reads.NextSeqAsync(), Ct);
        var first = SealedEvents.Seal([Text(0), Text(1)], next);
        var stale = SealedEvents.Seal([Text(2)], next);
        await store.RunIngestAsync(session => session.AddEventsAsync(first), Ct);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.RunIngestAsync(session => session.AddEventsAsync(stale), Ct));

        Assert.Equal(1, next);
        Assert.Contains("continues at 3", refused.Message, StringComparison.Ordinal);
        var entry = Assert.Single(await store.EntriesAsync("lender-a", 1, long.MaxValue, Ct).ToListAsync(Ct));
        var payload = System.Text.Json.JsonSerializer.Deserialize<EventBatchPayload>(entry.Payload, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        Assert.Equal((1L, 2L), (payload.FirstSeq, payload.LastSeq));
        Assert.Equal(payload.Root, Convert.ToHexStringLower((await store.EventBatchRootAsync("lender-a", 1, 2, Ct)).Root)); // the leaves sealed before are the log's
        await store.RunIngestReadAsync(async reads =>
        {
            Assert.Equal(3, await reads.NextSeqAsync());
            Assert.Equal(["s-0", "s-1"], (await reads.ExistingEventsAsync("lender-a", ["s-0", "s-1", "s-2"])).Keys.Order());
        }, Ct);
    }

    [Fact]
    public async Task Upgrading_MovesEventsIntoTheLog_AndTheirAttemptsCountFromTheirRows()
    {
        // A file as schema 6 left it: events in their own table, each contact also an 'evt:' attempt whose outcome the
        // call's end updated, and a gate reservation confirmed by an event.
        var path = _folder.File("upgrade.db");
        await _folder.Keep(new SqliteStore(path)).MigrateAsync(Ct);
        await ExecuteAsync(path, $$"""
            DELETE FROM schema_version WHERE version >= 7;
            DROP INDEX ix_incidents_seq; ALTER TABLE incidents DROP COLUMN seq; ALTER TABLE collectors DROP COLUMN stamp;
            ALTER TABLE collectors DROP COLUMN inactive_since;
            ALTER TABLE flags DROP COLUMN window_from;
            ALTER TABLE flags DROP COLUMN source;
            ALTER TABLE decisions DROP COLUMN hours;
            ALTER TABLE flags DROP COLUMN cleared_by;
            ALTER TABLE flags DROP COLUMN clear_reason;
            ALTER TABLE lenders DROP COLUMN reporting_time_zone; DROP TABLE reports; DROP TABLE registry_stamps;
            DROP INDEX ix_incidents_time; DROP INDEX ix_complaints_received; DROP INDEX ix_collectors_agency;
            DROP TABLE event_log; DROP TABLE event_keys; DROP TABLE borrower_events; DROP TABLE event_batches; DROP TABLE event_index_state;
            CREATE TABLE events (lender_id TEXT NOT NULL, event_id TEXT NOT NULL, kind INTEGER NOT NULL, account_id TEXT NOT NULL, borrower_id TEXT NOT NULL,
                collector_id TEXT NOT NULL, decision_id TEXT NOT NULL, call_id TEXT NOT NULL, channel INTEGER NOT NULL, purpose INTEGER NOT NULL,
                destination_hash TEXT NOT NULL, destination_masked TEXT NOT NULL, destination_class INTEGER NOT NULL, party_id TEXT NOT NULL, outcome INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL, occurred_at INTEGER NOT NULL, received_at INTEGER NOT NULL, imported INTEGER NOT NULL, risk_score REAL NOT NULL,
                violations TEXT NOT NULL, body TEXT NULL, PRIMARY KEY (lender_id, event_id));
            INSERT INTO events VALUES
                ('lender-a', 'placed', 1, 'acc-1', 'b-1', 'c-1', '', 'call-1', 1, 1, 'h', 'm', 1, '', 0, 0, {{T0.ToUnixTimeMilliseconds()}}, {{T0.ToUnixTimeMilliseconds()}}, 0, 0, '[]', NULL),
                ('lender-a', 'ended', 3, 'acc-1', 'b-1', 'c-1', '', 'call-1', 1, 1, 'h', 'm', 1, '', 1, 60000, {{T0.AddMinutes(1).ToUnixTimeMilliseconds()}}, {{T0.AddMinutes(1).ToUnixTimeMilliseconds()}}, 0, 0, '[]', NULL),
                ('lender-a', 'text', 4, 'acc-1', 'b-1', 'c-1', 'dec-1', '', 2, 1, 'h', 'm', 1, '', 7, 0, {{T0.AddMinutes(2).ToUnixTimeMilliseconds()}}, {{T0.AddMinutes(2).ToUnixTimeMilliseconds()}}, 0, 0, '[]', NULL);
            INSERT INTO attempts (lender_id, attempt_id, borrower_id, account_id, collector_id, channel, destination_hash, destination_class, party_id,
                destination_use, purpose, outcome, at, reserved_until, released_at, call_id) VALUES
                ('lender-a', 'evt:placed', 'b-1', 'acc-1', 'c-1', 1, 'h', 1, '', 1, 1, 1, {{T0.ToUnixTimeMilliseconds()}}, NULL, NULL, 'call-1'),
                ('lender-a', 'dec-1', 'b-1', 'acc-1', 'c-1', 2, 'h', 1, '', 1, 1, 7, {{T0.AddMinutes(2).ToUnixTimeMilliseconds()}}, NULL, NULL, '');
            """);

        SqliteConnection.ClearAllPools();
        var upgraded = _folder.Keep(new SqliteStore(path));
        var status = await upgraded.MigrateAsync(Ct);
        var history = await upgraded.HistoryAsync("lender-a", "b-1", T0.AddDays(-1), Ct);
        IReadOnlyDictionary<string, StoredEvent>? existing = null;
        await upgraded.RunIngestAsync(async session => existing = await session.ExistingEventsAsync("lender-a", ["placed", "ended", "text", "new"]), Ct);

        // The scripts after 0009 follow; these move the events and add what the rewound columns held.
        Assert.Equal(["0007_event_log", "0008_collector_inactive_since", "0009_decision_hours"], status.Applied.Take(3));
        Assert.Equal(["ended", "placed", "text"], existing!.Keys.Order(StringComparer.Ordinal));
        // The call (counted from its own row, its outcome from its end) and the confirmed reservation; the end itself is no attempt.
        Assert.Equal([(Domain.Registry.Channel.VoiceCall, Domain.Rules.AttemptOutcome.Conversation), (Domain.Registry.Channel.Sms, Domain.Rules.AttemptOutcome.Delivered)],
            history.Select(a => (a.Channel, a.Outcome)));
        Assert.Equal(0, await CountAsync(path, "SELECT COUNT(*) FROM attempts WHERE attempt_id LIKE 'evt:%'"));
        Assert.Equal(3, await CountAsync(path, "SELECT COUNT(*) FROM event_keys"));
        // The reports table comes back with the progress columns of 0016.
        Assert.Contains("0016_report_progress", status.Applied);
        Assert.Equal(2, await CountAsync(path, "SELECT COUNT(*) FROM pragma_table_info('reports') WHERE name IN ('progress_counted', 'progress_total')"));
    }

    private static async Task ExecuteAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static StoredEvent Event(string id, string lender = "lender-a", string borrower = "b-1", DateTimeOffset? at = null) =>
        new(lender, id, Domain.Events.EventKind.MessageSent, "acc-1", borrower, "c-1", "", "", Domain.Registry.Channel.Sms, Domain.Rules.ContactPurpose.CollectDebt,
            "hash-1", "+1 617*****00", Domain.Rules.DestinationClass.Own, "", Domain.Rules.AttemptOutcome.Delivered, 0, at ?? T0, T0, false, 0, [], null);

    /// <summary>A store on a file of this test's folder, migrated.</summary>
    private async Task<(SqliteStore Store, string Path)> MigratedAsync(string file, int eventIndexBatch = 100_000)
    {
        var path = _folder.File(file);
        var store = _folder.Keep(new SqliteStore(path, eventIndexBatch: eventIndexBatch));
        await store.MigrateAsync(Ct);
        return (store, path);
    }

    /// <summary>Commits without events, which carry the key merges on, until the key table holds <paramref name="keys"/>.</summary>
    private static async Task MergeKeysAsync(SqliteStore store, string path, long keys)
    {
        for (var attempt = 0; attempt < 1_000 && await CountAsync(path, "SELECT COUNT(*) FROM event_keys") < keys; attempt++)
        {
            await store.RunIngestAsync(_ => Task.CompletedTask, Ct);
        }
    }

    /// <summary>Starts an ingest commit that, after <paramref name="first"/>, holds the write lock until released.</summary>
    private static async Task<(Task Commit, TaskCompletionSource Release)> HoldAnIngestCommitAsync(SqliteStore store, Func<IIngestSession, Task>? first = null)
    {
        var release = new TaskCompletionSource();
        var holding = new TaskCompletionSource();
        var commit = store.RunIngestAsync(async session =>
        {
            if (first is not null)
            {
                await first(session);
            }

            holding.SetResult();
            await release.Task;
        }, Ct);
        await holding.Task;
        return (commit, release);
    }

    /// <summary>The count once <paramref name="done"/> holds for it (the store writes in the background), or after 5 seconds.</summary>
    private static async Task<long> CountOnceAsync(string path, string sql, Func<long, bool> done)
    {
        for (var attempt = 0; attempt < 200 && !done(await CountAsync(path, sql)); attempt++)
        {
            await Task.Delay(25, Ct);
        }

        return await CountAsync(path, sql);
    }

    /// <summary>One number read from the file on a connection of its own, beside the store's.</summary>
    internal static async Task<long> CountAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Data_SurvivesReopeningTheFile()
    {
        var path = _folder.File("reopen.db");
        var first = _folder.Keep(new SqliteStore(path));
        await first.MigrateAsync(CancellationToken.None);
        await first.CreateLenderAsync(new Domain.Registry.Lender("lender-a", "A", "US", T0), CancellationToken.None);
        await first.UpsertAccountAsync(NewAccount("lender-a", "acc-1"), CancellationToken.None);
        SqliteConnection.ClearAllPools();

        var second = _folder.Keep(new SqliteStore(path));
        await second.MigrateAsync(CancellationToken.None);

        Assert.NotNull(await second.GetAccountAsync("lender-a", "acc-1", CancellationToken.None));
    }

    public ValueTask DisposeAsync() => _folder.DisposeAsync();
}
