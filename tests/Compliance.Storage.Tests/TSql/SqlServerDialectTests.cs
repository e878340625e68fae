using System.Reflection;
using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Reports;
using Compliance.Domain.Rules;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace Compliance.Storage.Tests.TSql;

/// <summary>
/// The SQL Server dialect proven without a server: every store method is driven through a recording connection, twice
/// (against an empty database, and one where every query finds a row), and every statement it sends, and every schema
/// script, is parsed with Microsoft's T-SQL parser and checked against the schema the scripts build. A typed read of a
/// column SQL Server types otherwise, a lock outside a transaction, a command outside its connection's transaction or
/// SQLite's dialect fails the test, as does a store method no driver calls.
/// </summary>
public sealed class SqlServerDialectTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly Lazy<Task<DialectRun>> Run = new(RunDialectAsync);

    [Fact]
    public async Task EveryStatementTheDialectSends_ParsesAndNamesOnlyWhatTheSchemaHas()
    {
        var run = await Run.Value;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{run.Executions.Count} commands captured, {run.Executions.Select(e => e.Sql).Distinct().Count()} distinct texts, {run.Driven.Count} store and session methods driven");

        Assert.True(run.Executions.Count > 200, $"only {run.Executions.Count} commands were captured");
        Assert.Empty(run.StatementProblems);
    }

    [Fact]
    public async Task EveryTypedRead_FitsTheTypeSqlServerGivesItsColumn_AndEveryCommandKeepsSqlClientsRules()
    {
        var run = await Run.Value;

        Assert.Empty(run.ProviderProblems);
        Assert.Empty(run.Failures);
    }

    [Fact]
    public async Task EveryLockOwnedByATransaction_RunsInOne()
    {
        var run = await Run.Value;
        var locks = run.Executions.Where(e => TakesTransactionLock(e.Sql)).ToList();

        Assert.Contains(locks, e => e.Method == nameof(IIngestSession.HistoriesAsync));
        Assert.Contains(locks, e => e.Method == nameof(IGateStore.DecideAsync));
        Assert.All(locks, e => Assert.True(e.InTransaction, $"{e.Method} takes a lock outside a transaction"));
    }

    [Fact]
    public async Task EveryStoreMethod_IsDriven()
    {
        var run = await Run.Value;

        Assert.Empty(Undriven(run.Driven));
    }

    /// <summary>Statements only the embedded store sends (it defers its key tables, merging them with SQLite's INSERT OR
    /// IGNORE, and journals the gate's decisions; its registry stamp is an upsert SQL Server writes as a MERGE).</summary>
    private static readonly string[] EmbeddedOnly = ["EventSql.AllEventKeys", "EventSql.MergeBorrowerEvent", "EventSql.MergeEventKey", "EventSql.RecentKeys", "EventSql.SetIndexedSeq", "GateSql.DecisionStored", "Sql.BumpRegistryStamp"];

    [Fact]
    public async Task EveryStatementConstant_IsSentByTheDialect_OrIsTheEmbeddedStoresOwn()
    {
        var run = await Run.Value;
        var sent = run.Executions.Select(e => e.Sql).Distinct().ToList();
        var constants = typeof(AdoStore).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(AdoStore).Namespace && t.Name.EndsWith("Sql", StringComparison.Ordinal) && t.IsAbstract && t.IsSealed)
            .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Where(f => f.IsLiteral && f.FieldType == typeof(string))
                .Select(f => (Name: $"{t.Name}.{f.Name}", Text: (string)f.GetRawConstantValue()!)))
            .ToList();

        Assert.True(constants.Count > 50, $"only {constants.Count} statement constants were found");
        Assert.Equal(EmbeddedOnly, constants.Where(c => !sent.Any(s => s.Contains(c.Text, StringComparison.Ordinal))).Select(c => c.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EverySchemaScript_Parses_AndKeepsEveryKeyAndIndexItChanges()
    {
        var schema = Schema(out var scripts);

        Assert.Empty(schema.Problems);
        Assert.Contains(scripts, s => s.Name == "0013_binary_keys");
        // Script 0013 drops keys and indexes to change the columns under them: it makes every one again.
        var before = Schema(out _, upTo: 12);
        Assert.Empty(before.Indexes.Keys.Except(schema.Indexes.Keys));
        var remade = schema.PrimaryKeysByScript["0013_binary_keys"];
        foreach (var (key, columns) in before.Indexes.Where(i => i.Key.StartsWith("pk:", StringComparison.Ordinal)))
        {
            if (columns.Columns.Any(c => before.Tables[columns.Table][c].Type == SqlType.NVarChar))
            {
                Assert.True(remade.TryGetValue(columns.Table, out var again) && again.SequenceEqual(columns.Columns), $"0013 does not make {key} again as it was");
            }
        }

        var foreignKeys = before.ForeignKeys.Select(f => f.Key).ToHashSet();
        Assert.Equal(foreignKeys, schema.ForeignKeys.Where(f => f.Script == "0013_binary_keys").Select(f => f.Key).ToHashSet());
    }

    [Fact]
    public void EveryKeyColumn_ComparesByteForByte()
    {
        Assert.Empty(KeyCollationProblems(Schema(out _)));
    }

    // ---- the checks can fail ----

    public static TheoryData<string, string, string[]> KnownBadStatements => new()
    {
        { "SELECT lender_id FROM lenders WHERE", "Unexpected end of file", [] },
        { "SELECT lender_id FROM lender", "table lender does not exist", [] },
        { "SELECT lender_name FROM lenders", "column lender_name is in none", [] },
        { "SELECT a.nope FROM accounts a", "column a.nope does not exist", [] },
        { "SELECT b.account_id FROM accounts a", "no table or alias b", [] },
        { "INSERT INTO lenders (lender_id, nickname) VALUES (@a, @b)", "column lenders.nickname does not exist", ["@a", "@b"] },
        { "SELECT lender_id FROM lenders WHERE lender_id = @lender", "does not bind", [] },
        { "SELECT display_name || country_code FROM lenders", "'||'", [] },
        { "SELECT lender_id FROM lenders ORDER BY lender_id LIMIT 5", "LIMIT", [] },
        { "INSERT OR IGNORE INTO lenders (lender_id) VALUES ('x')", "INSERT OR", [] },
        { "INSERT INTO lenders (lender_id) VALUES ('x') ON CONFLICT (lender_id) DO NOTHING", "CONFLICT", [] },
        { "DELETE FROM lenders WHERE lender_id = 'x' RETURNING lender_id", "RETURNING", [] },
        { "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)", "AUTOINCREMENT", [] },
        { "SELECT value FROM json_each(@ids)", "JSON_EACH", ["@ids"] },
        { "SELECT seq FROM borrower_events WHERE borrower_id IN (SELECT value FROM OPENJSON(@ids))", "collation conflict", ["@ids"] },
        { "SELECT a.account_id FROM accounts a JOIN collectors c ON c.display_name = a.account_id", "collation conflict", [] },
    };

    [Theory]
    [MemberData(nameof(KnownBadStatements))]
    public void AKnownBadStatement_IsRefused(string sql, string expected, string[] bound)
    {
        var problems = Schema(out _).Check(sql, bound);

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void ATypedRead_OfAColumnSqlServerTypesOtherwise_IsRefused()
    {
        // The reservation rows once selected a bare 0 for the seq the reader takes as a long: SQL Server types it INT.
        var schema = Schema(out _);
        var recorder = new Recorder(schema.ResultColumns) { Rows = true, Method = "test" };
        using var connection = new RecordingConnection(recorder);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT at, 0, CAST(0 AS BIGINT), released_at FROM attempts";
        using var reader = command.ExecuteReader();
        reader.Read();

        Assert.Equal(1L, reader.GetInt64(0));
        Assert.Throws<InvalidCastException>(() => reader.GetInt64(1));
        Assert.Equal(1L, reader.GetInt64(2));
        Assert.Throws<InvalidCastException>(() => reader.GetInt32(3));
        Assert.Equal(2, recorder.Problems.Count);
    }

    [Fact]
    public void ATypedRead_OfANullTheDriverAsksFor_IsRefused_UnlessIsDBNullIsAskedFirst()
    {
        var recorder = new Recorder(Schema(out _).ResultColumns) { Rows = true, Method = "test" };
        recorder.NullColumns.Add("issued_at");
        using var connection = new RecordingConnection(recorder);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT report_id, issued_at FROM reports";
        using var reader = command.ExecuteReader();
        reader.Read();

        Assert.False(reader.IsDBNull(0));
        Assert.True(reader.IsDBNull(1));
        Assert.Throws<System.Data.SqlTypes.SqlNullValueException>(() => reader.GetInt64(1));
        Assert.Single(recorder.Problems);
    }

    [Fact]
    public void ACommand_OutsideItsConnectionsTransaction_OrANestedReader_IsRefused()
    {
        var recorder = new Recorder(Schema(out _).ResultColumns) { Method = "test" };
        using var connection = new RecordingConnection(recorder);
        connection.Open();
        using var tx = connection.BeginTransaction();
        using var outside = connection.CreateCommand();
        outside.CommandText = "SELECT lender_id FROM lenders";

        Assert.Throws<InvalidOperationException>(() => outside.ExecuteNonQuery());
        Assert.Throws<InvalidOperationException>(() => connection.BeginTransaction());
        outside.Transaction = tx;
        using var reader = outside.ExecuteReader();
        Assert.Throws<InvalidOperationException>(() => outside.ExecuteScalar());
        Assert.Equal(3, recorder.Problems.Count);
    }

    [Fact]
    public void ALockOwnedByATransaction_IsKnownAsOne_WhateverItsOwnerIsCalled()
    {
        Assert.True(TakesTransactionLock("EXEC sp_getapplock @Resource = @r, @LockMode = 'Exclusive', @LockOwner = 'Transaction'"));
        Assert.True(TakesTransactionLock("DECLARE @x int; EXEC @x = sp_getapplock @Resource = @r, @LockMode = 'Exclusive'"));
        Assert.False(TakesTransactionLock("EXEC sp_getapplock @Resource = @r, @LockMode = 'Exclusive', @LockOwner = 'Session'"));
        Assert.False(TakesTransactionLock("SELECT lender_id FROM lenders"));
    }

    [Fact]
    public void AKeyColumn_WithTheDefaultCollation_IsRefused()
    {
        var problems = KeyCollationProblems(Schema(out _, upTo: 12));

        Assert.Contains("lenders.lender_id", problems);
        Assert.Contains("attempts.call_id", problems);
    }

    [Fact]
    public void AnAlterColumn_ThatChangesMoreThanTheCollation_IsRefused()
    {
        var schema = Schema(out _, upTo: 12);
        schema.Apply("bad", "ALTER TABLE lenders ALTER COLUMN lender_id NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL;");

        Assert.Contains(schema.Problems, p => p.Contains("lenders.lender_id was NVARCHAR(128) NOT NULL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AStoreMethod_NoDriverCalls_IsNamed()
    {
        var run = await Run.Value;
        var fewer = run.Driven.Where(m => m.Name != nameof(IComplianceStore.PingAsync)).ToHashSet();

        Assert.Equal(["IComplianceStore.PingAsync"], Undriven(fewer));
    }

    // ---- the run ----

    private sealed record DialectRun(
        List<Execution> Executions, List<string> StatementProblems, List<string> ProviderProblems, List<string> Failures, HashSet<MethodInfo> Driven);

    private static async Task<DialectRun> RunDialectAsync()
    {
        var schema = Schema(out var scripts);
        var recorder = new Recorder(schema.ResultColumns, schema.AlwaysARow);
        var store = new SqlServerStore(() => new RecordingConnection(recorder));
        var driven = new HashSet<MethodInfo>();
        var proxy = Driving.Wrap<IComplianceStore>(store, recorder, driven);

        // The table of schema versions is made by the store itself, before any script: its statement joins the schema.
        await store.MigrateAsync(Ct);
        schema.Apply("schema_version", recorder.Executions[0].Sql);
        recorder.Executions.Clear();

        var failures = new List<string>();
        foreach (var rows in new[] { false, true })
        {
            recorder.Rows = rows;
            foreach (var (name, drive) in Drivers(driven, recorder))
            {
                try
                {
                    await drive(proxy, rows);
                }
                catch (Exception e)
                {
                    failures.Add($"{name} ({(rows ? "a row" : "no rows")}): {e.GetType().Name}: {e.Message}");
                }
            }
        }

        var batches = scripts.SelectMany(s => BatchSeparator.Split(s.Text)).Select(b => b.Trim()).ToHashSet();
        var statementProblems = new List<string>();
        foreach (var e in recorder.Executions.DistinctBy(e => (e.Sql, string.Join(",", e.Parameters.Keys.Order()))))
        {
            var migration = batches.Contains(e.Sql.Trim());
            var problems = migration
                ? [.. ParseOnly(e.Sql)]
                : schema.Check(e.Sql, e.Parameters.Keys.ToList());
            if (!migration && schema.ResultColumns(e.Sql).Any(c => c.Type == SqlType.Unknown))
            {
                problems.Add("a result column whose SQL Server type the test cannot tell");
            }

            foreach (var (name, value) in e.Parameters)
            {
                if (value is not (null or DBNull or string or int or long or bool or double))
                {
                    problems.Add($"{name} is a {value.GetType().Name}, which the store does not bind elsewhere");
                }
            }

            statementProblems.AddRange(problems.Select(p => $"{e.Method}: {p} -- {RecordingReader.OneLine(e.Sql)}"));
        }

        return new DialectRun(recorder.Executions, statementProblems, recorder.Problems.Distinct().ToList(), failures, driven);
    }

    private static IEnumerable<string> ParseOnly(string sql)
    {
        var fragment = SqlServerSchema.Parse(sql, out var errors);
        return errors.Concat(SqlServerSchema.SqliteOnly(fragment));
    }

    private static readonly System.Text.RegularExpressions.Regex BatchSeparator =
        new(@"^\s*GO\s*$", System.Text.RegularExpressions.RegexOptions.Multiline | System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    /// <summary>The schema the provider's embedded scripts build, up to a version.</summary>
    private static SqlServerSchema Schema(out IReadOnlyList<(int Version, string Name, string Text)> scripts, int upTo = int.MaxValue)
    {
        scripts = new SqlServerStore("Server=unused").SchemaScripts();
        var schema = new SqlServerSchema();
        foreach (var script in scripts.Where(s => s.Version <= upTo))
        {
            foreach (var batch in BatchSeparator.Split(script.Text).Where(b => !string.IsNullOrWhiteSpace(b)))
            {
                schema.Apply(script.Name, batch);
            }
        }

        return schema;
    }

    /// <summary>Key and id columns (in a key or index, or named *_id or *hash) whose collation is not the binary one.</summary>
    private static List<string> KeyCollationProblems(SqlServerSchema schema)
    {
        var keyed = schema.Indexes.Values.SelectMany(i => i.Columns.Select(c => (i.Table, Column: c))).ToHashSet();
        return schema.Tables
            .SelectMany(t => t.Value.Values.Select(c => (Table: t.Key, Column: c)))
            .Where(x => x.Column.Type == SqlType.NVarChar
                && (keyed.Contains((x.Table, x.Column.Name)) || x.Column.Name.EndsWith("_id", StringComparison.Ordinal) || x.Column.Name.EndsWith("hash", StringComparison.Ordinal))
                && !string.Equals(x.Column.Collation, SqlServerStore.KeyCollation, StringComparison.OrdinalIgnoreCase))
            .Select(x => $"{x.Table}.{x.Column.Name}")
            .ToList();
    }

    /// <summary>Whether a command takes an application lock owned by the transaction (sp_getapplock's default owner).</summary>
    private static bool TakesTransactionLock(string sql)
    {
        var found = false;
        SqlServerSchema.Parse(sql, out _).Accept(new SqlServerSchema.Visitor(node =>
        {
            if (node is ExecuteSpecification { ExecutableEntity: ExecutableProcedureReference procedure }
                && string.Equals(procedure.ProcedureReference?.ProcedureReference?.Name?.BaseIdentifier?.Value, "sp_getapplock", StringComparison.OrdinalIgnoreCase))
            {
                var owner = procedure.Parameters.FirstOrDefault(p => string.Equals(p.Variable?.Name, "@LockOwner", StringComparison.OrdinalIgnoreCase))?.ParameterValue;
                found |= owner is not StringLiteral { Value: var value } || string.Equals(value, "Transaction", StringComparison.OrdinalIgnoreCase);
            }
        }));
        return found;
    }

    /// <summary>The methods of the store's interfaces and of its ingest session that no driver called.</summary>
    private static List<string> Undriven(HashSet<MethodInfo> driven)
    {
        var interfaces = typeof(IComplianceStore).GetInterfaces().Append(typeof(IComplianceStore)).Append(typeof(IIngestSession));
        return interfaces.SelectMany(i => i.GetMethods())
            .Where(m => !driven.Contains(m))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    // ---- the drivers: every method of the store and its ingest session, with the branches of its SQL ----

    private static List<(string Name, Func<IComplianceStore, bool, Task> Drive)> Drivers(HashSet<MethodInfo> driven, Recorder recorder)
    {
        IIngestSession Session(IIngestSession s) => Driving.Wrap(s, recorder, driven);
        var account = NewAccount();
        var flag = new Flag("flg-1", FlagType.Dispute, T0, T0.AddDays(1), Channel.VoiceCall, "p-1", "cp-1", "note", "key-1", null);
        var decision = new DecisionRecord("lender-a", "dec-1", "acc-1", "c-1", Channel.VoiceCall, ContactPurpose.CollectDebt, "hash-1", "+1 617*****00",
            DestinationClass.Own, true, false, [], ["US-REGF"], null, "1", T0, T0.AddMinutes(2), "key-1");
        var attempt = new Attempt(T0, "acc-1", "c-1", Channel.VoiceCall, "hash-1", DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, AttemptOutcome.Pending);
        var stored = new StoredEvent("lender-a", "e-1", EventKind.CallPlaced, "acc-1", "b-1", "c-1", "dec-1", "call-1", Channel.VoiceCall, ContactPurpose.CollectDebt,
            "hash-1", "+1 617*****00", DestinationClass.Own, "", AttemptOutcome.Pending, 0, T0, T0, false, 35, [], "body", ContactPointUse.Mobile, EventCounting.Attempt);
        var incident = new Incident("lender-a", "inc-1", "US-REGF.hours", "12 CFR 1006.6(b)(1)(i)", Severity.High, "acc-1", "c-1", "late", ["e-1"], T0, T0, null, "", "");
        var complaint = new Complaint("lender-a", "cmpl-1", ComplaintSource.Borrower, "ref", "acc-1", T0, "text", ComplaintStatus.Received, T0.AddDays(30), T0, T0);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var checkpoint = CheckpointSignature.Sign(key, "lender-a", 1, new byte[32], T0, anchor: true);
        var report = new ReportKey("lender-a", "rpt-1", ReportKind.Monthly, T0.AddDays(-30), T0, "", "America/New_York");
        // The claimer the recording reader answers for claimed_by, so a row found holds the driver's claim.
        const string claimer = "x";

        async Task Reads(IIngestSession s)
        {
            await s.ExistingEventsAsync("lender-a", ["e-1", "e-2"]);
            await s.HistoriesAsync("lender-a", ["b-1"], T0.AddDays(-31));
            await s.HistoriesAsync("lender-a", ["b-1", "b-2"], T0.AddDays(-31));
            await s.AttemptOfCallAsync("lender-a", "call-1");
            await s.DecisionAsync("lender-a", "dec-1");
            await s.ReservationPendingAsync("lender-a", "dec-1");
            await s.IncidentExistsAsync("lender-a", "acc-1", "US-REGF.hours", T0.AddDays(-1), T0);
            await s.NextSeqAsync();
        }

        return
        [
            ("migrate", (store, _) => store.MigrateAsync(Ct)),
            ("ping", (store, _) => store.PingAsync(Ct)),
            ("lenders", async (store, _) =>
            {
                await store.AnyLenderAsync(Ct);
                await store.CreateLenderAsync(new Lender("lender-a", "Lender A", "US", T0), Ct);
                await store.GetLenderAsync("lender-a", Ct);
            }),
            ("api keys", async (store, _) =>
            {
                await store.CreateApiKeyAsync(new ApiKey("key-1", "lender-a", Role.CollectionSystem, "dialer", "secret-hash", T0, null), Ct);
                await store.GetApiKeyAsync("key-1", Ct);
                await store.ListApiKeysAsync("lender-a", 10, null, Ct);
                await store.RevokeApiKeyAsync("lender-a", "key-1", T0, Ct);
            }),
            ("accounts", async (store, _) =>
            {
                await store.UpsertAccountAsync(account, Ct);
                await store.UpsertAccountsAsync([account, account with { AccountId = "acc-2" }], Ct);
                await store.GetAccountAsync("lender-a", "acc-1", Ct);
                await store.AccountsOfBorrowerAsync("lender-a", "b-1", Ct);
                await store.GetAccountsAsync("lender-a", ["acc-1", "acc-2"], Ct);
                await store.AccountsOfBorrowersAsync("lender-a", ["b-1", "b-2"], Ct);
                await store.ListAccountsAsync("lender-a", null, 10, null, Ct);
                await store.ListAccountsAsync("lender-a", "b-1", 10, "acc-0", Ct);
                await store.AddFlagAsync("lender-a", "acc-1", flag, T0, Ct);
                await store.ClearFlagAsync("lender-a", "acc-1", "flg-1", T0, T0, Ct);
            }),
            ("agencies and collectors", async (store, rows) =>
            {
                await store.UpsertAgencyAsync(new Agency("lender-a", "ag-1", "Agency", true), Ct);
                await store.ListAgenciesAsync("lender-a", 10, null, Ct);
                try
                {
                    await store.UpsertCollectorAsync(new Collector("lender-a", "c-1", "ag-1", "Collector", CollectorKind.Human, false), T0, Ct);
                }
                catch (InvalidOperationException) when (!rows)
                {
                    // An empty database does not give back the collector just written.
                }

                await store.GetCollectorAsync("lender-a", "c-1", Ct);
                await store.ListCollectorsAsync("lender-a", null, 10, null, Ct);
                await store.ListCollectorsAsync("lender-a", "ag-1", 10, "c-0", Ct);
            }),
            ("policies", async (store, _) =>
            {
                await store.AddPolicyAsync("lender-a", "shadow: []", T0, T0, "key-1", Ct);
                await store.ListPoliciesAsync(null, Ct);
                await store.ListPoliciesAsync("lender-a", Ct);
            }),
            ("gate", async (store, _) =>
            {
                await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(decision, attempt), Ct);
                await store.DecideAsync("lender-a", "b-1", T0.AddDays(-31), _ => new GateOutcome(decision with { Allowed = false, ReservedUntil = null }, null), Ct);
                await store.DecideOnStampAsync("lender-a", "b-1", "c-1", T0.AddDays(-31), (_, _) => null, Ct);
                await store.DecideOnStampAsync("lender-a", "b-1", "c-1", T0.AddDays(-31), (_, _) => new GateOutcome(decision with { DecisionId = "dec-2", Allowed = false, ReservedUntil = null }, null), Ct);
                await store.HistoryAsync("lender-a", "b-1", T0.AddDays(-31), Ct);
                await store.GetDecisionAsync("lender-a", "dec-1", Ct);
                await store.DecisionsAsync("lender-a", T0.AddDays(-1), T0.AddDays(1), 10, Ct);
                await store.ReleaseReservationAsync("lender-a", "dec-1", T0, Ct);
                await store.ReleaseExpiredAsync(T0, Ct);
            }),
            ("ingest", (store, _) => store.RunIngestAsync(async raw =>
            {
                var s = Session(raw);
                await Reads(s);
                await s.AddEventAsync(stored);
                await s.AddEventsAsync([stored with { EventId = "e-2" }]);
                await s.AddEventsAsync(SealedEvents.Seal([stored with { EventId = "e-3" }], await s.NextSeqAsync()));
                await s.AddAttemptAsync("lender-a", "evt:e-1", "b-1", "call-1", attempt);
                await s.ConfirmReservationAsync("lender-a", "dec-1", "call-1", T0);
                await s.SetOutcomeAsync("lender-a", "evt:e-1", AttemptOutcome.Conversation);
                await s.AddIncidentAsync(incident);
                await s.AddFlagAsync("lender-a", "acc-1", flag, T0);
            }, Ct)),
            ("ingest reads", (store, _) => store.RunIngestReadAsync(raw => Reads(Session(raw)), Ct)),
            ("conduct", async (store, _) =>
            {
                foreach (var group in Enum.GetValues<ScoreGroup>())
                {
                    await store.ConductTotalsAsync("lender-a", group, null, T0.AddDays(-1), T0, 10, Ct);
                    await store.ConductTotalsAsync("lender-a", group, "id-1", T0.AddDays(-1), T0, 10, Ct);
                    await store.RiskyEventsAsync("lender-a", group, "id-1", T0.AddDays(-1), T0, 10, Ct);
                }
            }),
            ("incidents", async (store, _) =>
            {
                await store.ListIncidentsAsync("lender-a", T0.AddDays(-1), T0, Severity.Low, 10, null, Ct);
                await store.AcknowledgeIncidentAsync("lender-a", "inc-1", "key-1", "seen", T0, Ct);
                await store.IncidentsAfterAsync("lender-a", 0, Severity.Low, 100, Ct);
                await store.LastIncidentSequenceAsync("lender-a", Ct);
            }),
            ("events", async (store, _) =>
            {
                await store.EventsOfAccountAsync("lender-a", "acc-1", "b-1", T0.AddDays(-1), T0, Ct);
                await store.EventProofsAsync("lender-a", [1, 2], Ct);
                await store.EventBatchRootAsync("lender-a", 1, 2, Ct);
            }),
            ("ledger", async (store, _) =>
            {
                await store.AppendAsync("lender-a", LedgerKind.PolicyVersion, "1", "", T0, new { version = 1 }, Ct);
                await store.HeadAsync("lender-a", Ct);
                await store.LedgerLendersAsync(Ct);
                await store.AddCheckpointAsync(checkpoint, Ct);
                await store.CheckpointsAsync("lender-a", Ct);
                await store.EntriesAsync("lender-a", 1, 10, Ct).ToListAsync(Ct);
                await store.SeqRangeAsync("lender-a", T0.AddDays(-1), T0, Ct);
                await store.LastSeqOfPrefixBeforeAsync("lender-a", T0, Ct);
                await store.MaxSeqAsync("lender-a", Ct);
                await store.EntriesOfAccountAsync("lender-a", "acc-1", T0.AddDays(-1), T0, Ct);
                await store.PurgeAsync("lender-a", 1, checkpoint, Ct);
                foreach (var table in BoundTable.All)
                {
                    await store.StoredRowsAsync("lender-a", table, Ct).ToListAsync(Ct);
                }
            }),
            ("complaints", async (store, _) =>
            {
                await store.AddComplaintAsync(complaint, Ct);
                await store.GetComplaintAsync("lender-a", "cmpl-1", Ct);
                await store.ListComplaintsAsync("lender-a", ComplaintStatus.Received, 10, null, Ct);
                await store.UpdateComplaintStatusAsync("lender-a", "cmpl-1", ComplaintStatus.Answered, "done", T0, "key-1", Ct);
            }),
            ("reports", async (store, rows) =>
            {
                await store.ReportingLendersAsync(Ct);
                await store.ReportingTimeZoneAsync("lender-a", Ct);
                await store.SetReportingTimeZoneAsync("lender-a", "America/New_York", Ct);
                await store.ClaimReportAsync(report, claimer, "key-1", T0, TimeSpan.FromMinutes(15), Ct);
                if (rows)
                {
                    // A claim found but never issued (its issue columns NULL) is taken over once its lease has run out.
                    recorder.NullColumns.UnionWith(["issued_at", "ledger_position", "ledger_entry", "content_sha256", "summary", "content"]);
                    try
                    {
                        await store.ClaimReportAsync(report, "builder-2", "key-1", T0, TimeSpan.FromMinutes(15), Ct);
                        await store.GetReportAsync("lender-a", "rpt-1", withContent: true, Ct);
                    }
                    finally
                    {
                        recorder.NullColumns.Clear();
                    }
                }

                await store.IssueReportAsync(report, claimer, T0, 1, "{}", "{}", new string('0', 64), new { report = "rpt-1" }, Ct);
                await store.ReleaseReportClaimAsync(report, claimer, Ct);
                await store.GetReportAsync("lender-a", "rpt-1", withContent: false, Ct);
                await store.GetReportAsync("lender-a", "rpt-1", withContent: true, Ct);
                await store.ListReportsAsync("lender-a", ReportKind.Unspecified, 10, null, Ct);
                await store.ListReportsAsync("lender-a", ReportKind.Monthly, 10, "rpt-2", Ct);
                await store.ReportCutAsync("lender-a", Ct);
                await store.ReportEventsAsync("lender-a", T0.AddDays(-30), T0, 10, null, Ct).ToListAsync(Ct);
                await store.ReportEventsAsync("lender-a", T0.AddDays(-30), T0, 10, "acc-1", Ct).ToListAsync(Ct);
                await store.ReportEventCountAsync("lender-a", T0.AddDays(-30), T0, 10, Ct);
                await store.ReportEventTalliesAsync("lender-a", T0.AddDays(-30), T0, 10, Ct);
                await store.ReportViolationTalliesAsync("lender-a", T0.AddDays(-30), T0, 10, Ct);
                await store.ReportEventsWithViolationsAsync("lender-a", T0.AddDays(-30), T0, 10, Ct).ToListAsync(Ct);
                await store.ReportProgressAsync(report, claimer, 5, 10, Ct);
                await store.ReportBuildProgressAsync(report, Ct);
                await store.ReportDecisionsAsync("lender-a", T0.AddDays(-30), T0, Ct).ToListAsync(Ct);
                await store.ReportIncidentsAsync("lender-a", T0.AddDays(-30), T0, Ct).ToListAsync(Ct);
                await store.ReportComplaintsAsync("lender-a", T0.AddDays(-30), T0, Ct).ToListAsync(Ct);
                await store.ReportContentSha256Async("lender-a", "rpt-1", Ct);
            }),
        ];
    }

    private static Account NewAccount() => new(
        "lender-a", "acc-1", "b-1", "Jane Roe", new Location("US", "US-MA", "02110", "America/New_York"),
        [new ContactPoint("cp-1", ContactPointKind.Phone, ContactPointUse.Mobile, "hash-1", "+1 617*****00", "US", false, ["America/New_York"])],
        [new Party("p-1", PartyRole.EmergencyContact, "John", [new ContactPoint("cp-2", ContactPointKind.Phone, ContactPointUse.Mobile, "hash-2", "+1 617*****01", "US", false, [])])],
        [], ["US-MA"], [new LocalTimeRange(720, 780, [1, 2, 3, 4, 5])], T0, T0, 0);
}

/// <summary>Records which interface methods are called, and names the method being driven for the recorder.</summary>
public class Driving : DispatchProxy
{
    private object _target = null!;
    private Recorder _recorder = null!;
    private HashSet<MethodInfo> _driven = null!;

    internal static T Wrap<T>(T target, Recorder recorder, HashSet<MethodInfo> driven) where T : class
    {
        var proxy = Create<T, Driving>();
        var driving = (Driving)(object)proxy;
        (driving._target, driving._recorder, driving._driven) = (target, recorder, driven);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        _driven.Add(method!);
        _recorder.Method = method!.Name;
        try
        {
            return method.Invoke(_target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
