using Compliance.Api.V1;
using Compliance.Domain.Ledger;
using Compliance.Server.Audit;
using Grpc.Core;
using Microsoft.Data.Sqlite;

namespace Compliance.Server.Tests;

/// <summary>The tamper-evident record over gRPC: every kind of tampering is detected; evidence packs read as a timeline.</summary>
public sealed class AuditTests
{
    private static readonly DateTimeOffset T0 = GateFixture.Start;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A server whose demo lender has a chain of 12 entries, signed at its head: the account's registration, 8 gate
    /// decisions, one event batch holding the 8 events (sent in one request, stored in one group commit), and a flag set
    /// and cleared.</summary>
    private static async Task<GateFixture> StartWithChainAsync()
    {
        var server = new GateFixture();
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem));
        await registry.UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "A-1",
                BorrowerName = "Li Wei",
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Value = "+86 138 0013 8000" } },
            },
        }, cancellationToken: Ct);
        var gate = new ContactGateService.ContactGateServiceClient(server.Channel(server.Keys.CollectionSystem));
        var events = new List<Event>();
        for (var i = 0; i < 8; i++)
        {
            var destination = i % 3 == 2 ? new Destination { PhoneNumber = $"+86 139 0000 00{i:00}" } : new Destination { ContactPointId = "mobile" };
            var decision = (await gate.AuthorizeAsync(new AuthorizeRequest { Contact = new ContactRequest { AccountId = "A-1", CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = destination } }, cancellationToken: Ct)).Decision;
            events.Add(EventIngestTests.Placed($"e{i}", "A-1", T0.AddSeconds(i), destination, decision.Verdict == Verdict.Allow ? decision.DecisionId : ""));
        }

        await EventIngestTests.StreamAsync(new EventIngestService.EventIngestServiceClient(server.Channel(server.Keys.CollectionSystem)), events);
        var officer = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.ComplianceOfficer));
        var flag = await officer.SetFlagAsync(new SetFlagRequest { AccountId = "A-1", Flag = new Flag { Type = FlagType.MediumOptOut, Channel = Channel.Sms } }, cancellationToken: Ct);
        await officer.ClearFlagAsync(new ClearFlagRequest { AccountId = "A-1", FlagId = flag.Flag.FlagId }, cancellationToken: Ct);
        Assert.Equal(1, await server.Get<LedgerAuditor>().CheckpointAsync(Ct));
        return server;
    }

    private static Task<VerifyResponse> VerifyAsync(GateFixture server) =>
        new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor)).VerifyAsync(new VerifyRequest(), cancellationToken: Ct).ResponseAsync;

    private static async Task ExecuteAsync(ServerFixture server, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "compliance.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(Ct);
    }

    [Fact]
    public async Task UntouchedChain_Verifies()
    {
        await using var server = await StartWithChainAsync();

        var result = await VerifyAsync(server);

        Assert.True(result.Valid, result.Reason);
        Assert.Equal(12, result.EntriesChecked);
        Assert.Equal(1, result.CheckpointsChecked);
    }

    [Theory]
    [InlineData("one byte changed", "UPDATE ledger SET payload = replace(payload, '\"collectorId\":\"collector-1\"', '\"collectorId\":\"collector-2\"') WHERE seq = 5", 5, "was changed")]
    [InlineData("one row deleted", "DELETE FROM ledger WHERE seq = 7", 7, "is missing")]
    [InlineData("two rows reordered", "UPDATE ledger SET seq = -1 WHERE seq = 3; UPDATE ledger SET seq = 3 WHERE seq = 4; UPDATE ledger SET seq = 4 WHERE seq = -1", 3, "does not link")]
    [InlineData("tail truncated", "DELETE FROM ledger WHERE seq > 9; UPDATE ledger_heads SET seq = 9, hash = (SELECT hash FROM ledger WHERE seq = 9)", 10, "tail was cut")]
    [InlineData("an event's verdict changed", "UPDATE event_log SET risk_score = 0, violations = '[]' WHERE event_id = 'e2'", 10, "no longer match the recorded root")]
    [InlineData("an event's time changed", "UPDATE event_log SET occurred_at = occurred_at + 3600000 WHERE event_id = 'e4'", 10, "no longer match the recorded root")]
    [InlineData("an event deleted", "DELETE FROM event_log WHERE event_id = 'e5'", 10, "were removed or added")]
    [InlineData("two events swapped", "UPDATE event_log SET seq = -seq WHERE event_id IN ('e1', 'e6'); UPDATE event_log SET seq = (SELECT -seq FROM event_log WHERE event_id = 'e6') WHERE event_id = 'e1'; UPDATE event_log SET seq = (SELECT seq FROM event_log WHERE event_id = 'e1') - 5 WHERE event_id = 'e6'", 10, "no longer match the recorded root")]
    public async Task Tampering_IsDetected_AtTheFirstBadEntry(string tampering, string sql, long firstBad, string reason)
    {
        await using var server = await StartWithChainAsync();

        await ExecuteAsync(server, sql);
        var result = await VerifyAsync(server);

        Assert.False(result.Valid, tampering);
        Assert.Equal(firstBad, result.FirstBadSequence);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletingTheOldestEntries_UpToACheckpoint_IsDetected()
    {
        await using var server = await StartWithChainAsync();
        await new RegistryService.RegistryServiceClient(server.Channel(server.Keys.ComplianceOfficer))
            .SetFlagAsync(new SetFlagRequest { AccountId = "A-1", Flag = new Flag { Type = FlagType.Dispute } }, cancellationToken: Ct);
        Assert.Equal(1, await server.Get<LedgerAuditor>().CheckpointAsync(Ct));

        await ExecuteAsync(server, "DELETE FROM ledger WHERE seq <= 12");
        var result = await VerifyAsync(server);

        Assert.False(result.Valid);
        Assert.Equal(1, result.FirstBadSequence);
        Assert.Contains("is missing", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATamperedChain_IsNotSignedAgain()
    {
        await using var server = await StartWithChainAsync();
        await new RegistryService.RegistryServiceClient(server.Channel(server.Keys.ComplianceOfficer))
            .SetFlagAsync(new SetFlagRequest { AccountId = "A-1", Flag = new Flag { Type = FlagType.Dispute } }, cancellationToken: Ct);
        await ExecuteAsync(server, "UPDATE ledger SET payload = replace(payload, '\"setBy\":\"', '\"setBy\":\"x') WHERE seq = 13");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.Get<LedgerAuditor>().CheckpointAsync(Ct));

        Assert.Contains("refusing to sign", error.Message, StringComparison.Ordinal);
        Assert.Single(await server.Get<Storage.ILedgerStore>().CheckpointsAsync("demo", Ct));
    }

    [Fact]
    public async Task ABackdatedFlagClear_CannotPullYoungEntriesIntoThePurge()
    {
        await using var server = await StartWithChainAsync();
        var officer = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.ComplianceOfficer));
        // A dispute known since 2019 (clears of such flags may be dated back to when they ended, never before they began).
        var flag = await officer.SetFlagAsync(new SetFlagRequest
        {
            AccountId = "A-1",
            Flag = new Flag { Type = FlagType.Dispute, EffectiveFrom = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero)) },
        }, cancellationToken: Ct);
        await officer.ClearFlagAsync(new ClearFlagRequest
        {
            AccountId = "A-1",
            FlagId = flag.Flag.FlagId,
            ClearedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)),
        }, cancellationToken: Ct);

        var removed = await server.Get<RetentionPurgeJob>().PurgeAsync(T0.AddDays(1), Ct);

        Assert.Equal(0, removed);
        Assert.True((await VerifyAsync(server)).Valid);
    }

    [Fact]
    public async Task RewritingTheWholeChain_IsDetectedByTheSignedCheckpoint()
    {
        await using var server = await StartWithChainAsync();
        var store = server.Get<Storage.ILedgerStore>();
        var entries = await store.EntriesAsync("demo", 1, long.MaxValue, Ct).ToListAsync(Ct);

        // A database administrator edits entry 2 and recomputes every hash after it, so the chain is self-consistent.
        var head = LedgerChain.Start("demo");
        foreach (var e in entries)
        {
            var payload = e.Seq == 2 ? e.Payload.Replace("collector-1", "collector-9", StringComparison.Ordinal) : e.Payload;
            var rewritten = LedgerChain.Next(head, e.LenderId, e.Kind, e.RefId, e.AccountId, e.RecordedAt, payload);
            await ExecuteAsync(server, $"UPDATE ledger SET payload = '{payload.Replace("'", "''", StringComparison.Ordinal)}', prev_hash = '{Convert.ToHexStringLower(rewritten.PrevHash)}', hash = '{Convert.ToHexStringLower(rewritten.Hash)}' WHERE seq = {e.Seq}");
            head = new LedgerHead(rewritten.Seq, rewritten.Hash);
        }

        var result = await VerifyAsync(server);

        Assert.False(result.Valid);
        Assert.Contains("chain was rewritten", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complaint_EvidencePack_IsAReadableTimeline_WithMaskedNumbers_AndTheReadIsRecorded()
    {
        await using var server = await StartWithChainAsync();
        var officer = new AuditService.AuditServiceClient(server.Channel(server.Keys.ComplianceOfficer));
        var complaint = (await officer.RecordComplaintAsync(new RecordComplaintRequest
        {
            Complaint = new Complaint { Source = ComplaintSource.RegulatorHotline, Reference = "12378-2026-000123", AccountId = "A-1", Text = "Collectors called my friends about my loan." },
        }, cancellationToken: Ct)).Complaint;
        var auditor = new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor));

        var zip = await EvidenceBundle.DownloadAsync(auditor, new ExportEvidenceRequest { AccountId = "A-1", ComplaintId = complaint.ComplaintId });
        var second = await EvidenceBundle.DownloadAsync(auditor, new ExportEvidenceRequest { AccountId = "A-1", ComplaintId = complaint.ComplaintId });
        var html = zip.Read("summary.html");
        var secondHtml = second.Read("summary.html");

        Assert.Equal(T0.AddDays(21), complaint.DueAt.ToDateTimeOffset()); // 15 working days
        Assert.Contains("12378-2026-000123", html, StringComparison.Ordinal);
        Assert.Contains("The lender&#39;s hash chain verifies", html, StringComparison.Ordinal);
        Assert.Contains("denied, contact blocked", html, StringComparison.Ordinal);
        Assert.Contains("+86 138******00", html, StringComparison.Ordinal);
        Assert.Contains("BASE.third-parties", html, StringComparison.Ordinal);
        Assert.DoesNotContain("13800138000", html, StringComparison.Ordinal);
        Assert.Contains("Evidence exported", secondHtml, StringComparison.Ordinal);
        Assert.NotEmpty(zip.Read("ledger-entries.jsonl"));
        Assert.Contains("BEGIN PUBLIC KEY", zip.Read("verification-key.pem"), StringComparison.Ordinal);
        Assert.True((await VerifyAsync(server)).Valid);
    }

    [Fact]
    public async Task Auditor_ReadsButCannotRecordComplaints()
    {
        await using var server = await StartWithChainAsync();
        var auditor = new AuditService.AuditServiceClient(server.Channel(server.Keys.Auditor));

        var error = await Assert.ThrowsAsync<RpcException>(() => auditor.RecordComplaintAsync(new RecordComplaintRequest
        {
            Complaint = new Complaint { Source = ComplaintSource.Borrower, AccountId = "A-1" },
        }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task RetentionPurge_RemovesOldEntries_AndWhatRemainsStillVerifies()
    {
        await using var server = await StartWithChainAsync();
        server.Clock.Advance(TimeSpan.FromSeconds(30));
        await new RegistryService.RegistryServiceClient(server.Channel(server.Keys.CollectionSystem)).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account { AccountId = "B-1", Location = new Location { CountryCode = "CN" } },
        }, cancellationToken: Ct);

        // Three years and ten seconds after the start, the first 12 entries (account A-1, whose last event happened at
        // T0 + 7 s, quiet since) have expired; B-1's registration (T0 + 30 s) has not.
        var removed = await server.Get<RetentionPurgeJob>().PurgeAsync(T0 + TimeSpan.FromDays(3 * 365 + 1) + TimeSpan.FromSeconds(10), Ct);
        var result = await VerifyAsync(server);
        await ExecuteAsync(server, "UPDATE ledger SET payload = replace(payload, 'B-1', 'B-2') WHERE seq = 13");
        var tampered = await VerifyAsync(server);

        Assert.Equal(12, removed);
        Assert.True(result.Valid, result.Reason);
        Assert.Equal(1, result.EntriesChecked);
        Assert.False(tampered.Valid);
    }

    [Fact]
    public async Task RetentionPurge_KeepsOldRecordsOfADebtStillBeingCollected()
    {
        await using var server = await StartWithChainAsync();
        server.Clock.Advance(TimeSpan.FromSeconds(30));
        await new RegistryService.RegistryServiceClient(server.Channel(server.Keys.ComplianceOfficer))
            .SetFlagAsync(new SetFlagRequest { AccountId = "A-1", Flag = new Flag { Type = FlagType.Dispute } }, cancellationToken: Ct);

        // The first 12 entries are past retention by time, but account A-1 had activity 30 seconds in.
        var removed = await server.Get<RetentionPurgeJob>().PurgeAsync(T0 + TimeSpan.FromDays(3 * 365 + 1) + TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(0, removed);
    }

    [Fact]
    public async Task RetentionPurge_KeepsTheEventBatchOfADebtStillBeingCollected()
    {
        await using var server = await StartWithChainAsync();
        server.Clock.Advance(TimeSpan.FromSeconds(30));
        // An event of A-1 that happens after the cutoff keeps every batch that holds A-1's events (and what follows it).
        await EventIngestTests.StreamAsync(new EventIngestService.EventIngestServiceClient(server.Channel(server.Keys.CollectionSystem)),
            [EventIngestTests.Placed("late", "A-1", T0.AddSeconds(30), new Destination { ContactPointId = "mobile" })]);

        var removed = await server.Get<RetentionPurgeJob>().PurgeAsync(T0 + TimeSpan.FromDays(3 * 365 + 1) + TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(0, removed);
        Assert.True((await VerifyAsync(server)).Valid);
    }
}
