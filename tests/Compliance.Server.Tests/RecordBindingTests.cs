using Compliance.Api.V1;
using Compliance.Server.Audit;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Compliance.Server.Tests;

/// <summary>
/// An unforgeable record, over gRPC on the real SQLite file: the working rows the API serves are checked against the
/// chain, the recorded head and the newest checkpoints against the chain, and the checkpoints kept outside the database
/// (the witness file, an auditor's copy) against both. Each tampering is found, and the finding names what and where.
/// </summary>
public sealed class RecordBindingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A server whose demo lender has an account, a gate decision, a flag, a complaint and a policy version, the head signed.</summary>
    private sealed class Recorded : IAsyncDisposable
    {
        public GateFixture Server { get; } = new();

        public string DecisionId { get; private set; } = "";

        public string FlagId { get; private set; } = "";

        public string ComplaintId { get; private set; } = "";

        public string Db => Path.Combine(Server.DataDirectory, "compliance.db");

        public string WitnessFile => Path.Combine(Server.DataDirectory, "checkpoints.witness.jsonl");

        public static async Task<Recorded> StartAsync()
        {
            var recorded = new Recorded();
            var server = recorded.Server;
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
            recorded.DecisionId = (await gate.AuthorizeAsync(new AuthorizeRequest
            {
                Contact = new ContactRequest { AccountId = "A-1", CollectorId = "collector-1", Channel = Channel.VoiceCall, Destination = new Destination { ContactPointId = "mobile" } },
            }, cancellationToken: Ct)).Decision.DecisionId;
            var officer = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.ComplianceOfficer));
            recorded.FlagId = (await officer.SetFlagAsync(new SetFlagRequest { AccountId = "A-1", Flag = new Flag { Type = FlagType.CeaseCommunication } }, cancellationToken: Ct)).Flag.FlagId;
            recorded.ComplaintId = (await new AuditService.AuditServiceClient(server.Channel(server.Keys.ComplianceOfficer)).RecordComplaintAsync(new RecordComplaintRequest
            {
                Complaint = new Complaint { Source = ComplaintSource.RegulatorHotline, Reference = "12378-1", AccountId = "A-1", Text = "They called my mother." },
            }, cancellationToken: Ct)).Complaint.ComplaintId;
            Assert.Equal(1, await server.Get<LedgerAuditor>().CheckpointAsync(Ct));
            return recorded;
        }

        public Task<VerifyResponse> VerifyAsync(params KeptCheckpoint[] kept)
        {
            var request = new VerifyRequest();
            request.Checkpoints.AddRange(kept);
            return new AuditService.AuditServiceClient(Server.Channel(Server.Keys.Auditor)).VerifyAsync(request, cancellationToken: Ct).ResponseAsync;
        }

        public async Task ExecuteAsync(string sql)
        {
            await using var connection = new SqliteConnection($"Data Source={Db};Pooling=False");
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync(Ct);
        }

        public async Task<long> ScalarAsync(string sql)
        {
            await using var connection = new SqliteConnection($"Data Source={Db};Pooling=False");
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return Convert.ToInt64(await command.ExecuteScalarAsync(Ct));
        }

        /// <summary>Moves the chain on by one entry (a dispute flag) and signs its head.</summary>
        public async Task SignMoreAsync()
        {
            await new RegistryService.RegistryServiceClient(Server.Channel(Server.Keys.ComplianceOfficer))
                .SetFlagAsync(new SetFlagRequest { AccountId = "A-1", Flag = new Flag { Type = FlagType.Dispute } }, cancellationToken: Ct);
            Assert.Equal(1, await Server.Get<LedgerAuditor>().CheckpointAsync(Ct));
        }

        /// <summary>An auditor of a service started afresh on the same files: nothing signed remembered but the witness.</summary>
        public LedgerAuditor FreshAuditor() => ActivatorUtilities.CreateInstance<LedgerAuditor>(Server.Services,
            new LedgerIntegrity(), NullLogger<LedgerAuditor>.Instance);

        public async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync() =>
            (await new Health.HealthClient(Server.Channel(null)).CheckAsync(new HealthCheckRequest(), cancellationToken: Ct)).Status;

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }

    [Fact]
    public async Task UntouchedRecord_Verifies_AndTheWitnessHoldsTheCheckpoint_Privately()
    {
        await using var r = await Recorded.StartAsync();

        var result = await r.VerifyAsync();
        var witness = await File.ReadAllLinesAsync(r.WitnessFile, Ct);

        Assert.True(result.Valid, result.Reason);
        Assert.Equal(1, result.CheckpointsChecked);
        var line = Assert.Single(witness);
        Assert.Contains($"\"seq\":{await r.ScalarAsync("SELECT MAX(seq) FROM ledger")}", line, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(r.WitnessFile));
        }
    }

    [Fact]
    public async Task EditedComplaintText_IsFound_NamingTableRowAndColumn()
    {
        await using var r = await Recorded.StartAsync();

        await r.ExecuteAsync($"UPDATE complaints SET text = 'Nothing happened.' WHERE complaint_id = '{r.ComplaintId}'");
        var result = await r.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Contains($"complaints row {r.ComplaintId} differs from what ledger entry", result.Reason, StringComparison.Ordinal);
        Assert.Contains("(text changed)", result.Reason, StringComparison.Ordinal);
        Assert.True(result.FirstBadSequence > 0);
    }

    [Fact]
    public async Task DeletedFlagRow_IsFound()
    {
        await using var r = await Recorded.StartAsync();

        await r.ExecuteAsync($"DELETE FROM flags WHERE flag_id = '{r.FlagId}'");
        var result = await r.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Contains($"flags row {r.FlagId}, recorded at ledger entry", result.Reason, StringComparison.Ordinal);
        Assert.Contains("is missing from the table: it was deleted", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlippedDecision_IsFound()
    {
        await using var r = await Recorded.StartAsync();
        var allowed = await r.ScalarAsync($"SELECT allowed FROM decisions WHERE decision_id = '{r.DecisionId}'");

        await r.ExecuteAsync($"UPDATE decisions SET allowed = {1 - allowed} WHERE decision_id = '{r.DecisionId}'");
        var result = await r.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Contains($"decisions row {r.DecisionId} differs from what ledger entry", result.Reason, StringComparison.Ordinal);
        Assert.Contains("(allowed changed)", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARowAddedOutsideTheService_AndAnEditedPolicyOrAccount_AreFound()
    {
        await using var r = await Recorded.StartAsync();

        await r.ExecuteAsync("""
            INSERT INTO flags (lender_id, flag_id, account_id, type, effective_from, expires_at, channel, party_id, contact_point_id, note, set_by, cleared_at, created_at, source)
            SELECT lender_id, 'forged', account_id, type, effective_from, expires_at, channel, party_id, contact_point_id, note, set_by, cleared_at, created_at, source FROM flags;
            UPDATE accounts SET borrower_name = 'Someone Else';
            """);
        var result = await r.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Contains("flags row forged is not recorded in the ledger: it was added outside the service", result.Reason, StringComparison.Ordinal);
        Assert.Contains("accounts row A-1 differs from what ledger entry", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CutTail_WithTheHeadSetBackAndTheCheckpointsDeleted_IsFoundByTheWitness_AndNotSignedOver()
    {
        await using var r = await Recorded.StartAsync();
        var end = await r.ScalarAsync("SELECT MAX(seq) FROM ledger");

        await r.ExecuteAsync($"""
            DELETE FROM ledger WHERE seq > {end - 2};
            DELETE FROM checkpoints;
            UPDATE ledger_heads SET seq = {end - 2}, hash = (SELECT hash FROM ledger WHERE seq = {end - 2});
            """);
        var result = await r.VerifyAsync();
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => r.FreshAuditor().CheckpointAsync(Ct));

        Assert.False(result.Valid);
        Assert.Equal(end - 1, result.FirstBadSequence);
        Assert.Contains($"the witness file {r.WitnessFile} holds a checkpoint signed", result.Reason, StringComparison.Ordinal);
        Assert.Contains($"at entry {end}, but the chain ends at entry {end - 2}: the chain was cut or rolled back", result.Reason, StringComparison.Ordinal);
        Assert.Contains($"the witness file holds a checkpoint at entry {end}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CutTail_WithTheHeadLeftAlone_IsFoundAtTheHead()
    {
        await using var r = await Recorded.StartAsync();
        await r.ExecuteAsync("DELETE FROM checkpoints");
        File.Delete(r.WitnessFile);
        var end = await r.ScalarAsync("SELECT MAX(seq) FROM ledger");

        await r.ExecuteAsync($"DELETE FROM ledger WHERE seq = {end}");
        var result = await r.VerifyAsync();

        Assert.False(result.Valid);
        Assert.Contains($"the recorded head (ledger_heads) is at entry {end} but the chain ends at entry {end - 1}: the tail was cut", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RollbackPastACheckpoint_IsFound_AndTheServiceRefusesToSignTheRolledBackChain_AndSaysSo()
    {
        await using var r = await Recorded.StartAsync();
        var first = await r.ScalarAsync("SELECT MAX(seq) FROM ledger");
        await r.SignMoreAsync();
        var second = first + 1;

        // Back to the first checkpoint, as if the second had never happened; then the chain moves on again.
        await r.ExecuteAsync($"""
            DELETE FROM ledger WHERE seq > {first};
            DELETE FROM checkpoints WHERE seq > {first};
            UPDATE ledger_heads SET seq = {first}, hash = (SELECT hash FROM ledger WHERE seq = {first});
            DELETE FROM flags WHERE type = {(int)Domain.Registry.FlagType.Dispute};
            """);
        await new RegistryService.RegistryServiceClient(r.Server.Channel(r.Server.Keys.ComplianceOfficer))
            .SetFlagAsync(new SetFlagRequest { AccountId = "A-1", Flag = new Flag { Type = FlagType.Dispute } }, cancellationToken: Ct);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => r.Server.Get<LedgerAuditor>().CheckpointAsync(Ct));
        var result = await r.VerifyAsync();
        var health = await r.HealthAsync();

        Assert.Contains($"the witness file holds a checkpoint at entry {second}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("refusing to sign", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, await r.ScalarAsync("SELECT COUNT(*) FROM checkpoints") + 1); // the rolled-back chain was not signed
        Assert.False(result.Valid);
        Assert.Contains($"entry {second} differs from the checkpoint the witness file {r.WitnessFile} holds for that position: the chain was rewritten", result.Reason, StringComparison.Ordinal);
        Assert.Contains("the service refuses to sign checkpoints", result.Reason, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, health);
    }

    [Fact]
    public async Task DeletedCheckpointRows_AreFound()
    {
        await using var r = await Recorded.StartAsync();
        await r.SignMoreAsync();
        var end = await r.ScalarAsync("SELECT MAX(seq) FROM ledger");

        await r.ExecuteAsync("DELETE FROM checkpoints");
        var result = await r.VerifyAsync();
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => r.FreshAuditor().CheckpointAsync(Ct));

        Assert.False(result.Valid);
        Assert.Contains($"at entry {end} is in the witness file {r.WitnessFile} but not in the database: checkpoint rows were deleted", result.Reason, StringComparison.Ordinal);
        Assert.Contains($"but the newest stored one is at entry 0: checkpoint rows were deleted or the database is an older copy", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoredOlderCopyOfTheDatabase_IsFound_ByTheWitness_AndByAnAuditorsCheckpointFile()
    {
        await using var r = await Recorded.StartAsync();
        var copy = Path.Combine(r.Server.DataDirectory, "older.db");
        await r.ExecuteAsync($"VACUUM INTO '{copy}'");
        await r.SignMoreAsync();
        var end = await r.ScalarAsync("SELECT MAX(seq) FROM ledger");
        // The auditor kept the lines the service logged (the same as the witness file's).
        var kept = (await File.ReadAllLinesAsync(r.WitnessFile, Ct)).Select(Kept).ToArray();

        // Every table's content replaced by the older copy's, as a restore would leave it.
        await using (var connection = new SqliteConnection($"Data Source={r.Db};Pooling=False"))
        {
            await connection.OpenAsync(Ct);
            await using var tables = connection.CreateCommand();
            tables.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
            var names = new List<string>();
            await using (var reader = await tables.ExecuteReaderAsync(Ct))
            {
                while (await reader.ReadAsync(Ct))
                {
                    names.Add(reader.GetString(0));
                }
            }

            await using var restore = connection.CreateCommand();
            restore.CommandText = $"PRAGMA foreign_keys = OFF; ATTACH '{copy}' AS old; BEGIN; "
                + string.Concat(names.Select(n => $"DELETE FROM main.{n}; INSERT INTO main.{n} SELECT * FROM old.{n}; ")) + "COMMIT; DETACH old;";
            await restore.ExecuteNonQueryAsync(Ct);
        }

        var byWitness = await r.VerifyAsync();
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => r.FreshAuditor().CheckpointAsync(Ct));
        File.Delete(r.WitnessFile); // whoever restored the database removed the witness too
        var byAuditor = await r.VerifyAsync(kept);

        Assert.False(byWitness.Valid);
        Assert.Contains($"holds a checkpoint signed {GateFixture.Start:u} at entry {end}, but the chain ends at entry {end - 1}", byWitness.Reason, StringComparison.Ordinal);
        Assert.Contains($"the witness file holds a checkpoint at entry {end}", refused.Message, StringComparison.Ordinal);
        Assert.False(byAuditor.Valid);
        Assert.Contains($"the checkpoint file given holds a checkpoint signed {GateFixture.Start:u} at entry {end}, but the chain ends at entry {end - 1}", byAuditor.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeptCheckpoints_AreCheckedForShape_AndAForgedOneIsFound()
    {
        await using var r = await Recorded.StartAsync();
        var kept = Kept((await File.ReadAllLinesAsync(r.WitnessFile, Ct))[0]);
        var forged = kept.Clone();
        forged.Signature = Google.Protobuf.ByteString.CopyFrom(new byte[64]);

        var bad = await Assert.ThrowsAsync<RpcException>(() => r.VerifyAsync(new KeptCheckpoint { LenderId = "other", Sequence = 0, Hash = "zz" }));
        var good = await r.VerifyAsync(kept);
        var result = await r.VerifyAsync(forged);

        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("checkpoints[0].lender_id", bad.Status.Detail, StringComparison.Ordinal);
        Assert.True(good.Valid, good.Reason);
        Assert.False(result.Valid);
        Assert.Contains("in the checkpoint file given has an invalid signature", result.Reason, StringComparison.Ordinal);
    }

    /// <summary>A witness line as the CLI's --checkpoint sends it.</summary>
    private static KeptCheckpoint Kept(string line)
    {
        using var document = System.Text.Json.JsonDocument.Parse(line);
        var root = document.RootElement;
        return new KeptCheckpoint
        {
            LenderId = root.GetProperty("lenderId").GetString()!,
            Sequence = root.GetProperty("seq").GetInt64(),
            Hash = root.GetProperty("hash").GetString()!,
            SignedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(root.GetProperty("signedAt").GetDateTimeOffset()),
            Signature = Google.Protobuf.ByteString.CopyFrom(Convert.FromBase64String(root.GetProperty("signature").GetString()!)),
        };
    }
}
