using System.Data.Common;
using System.Text.Json;
using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>Events, incidents and the ingest group commit.</summary>
public abstract partial class AdoStore
{
    public async Task RunIngestAsync(Func<IIngestSession, Task> work, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        await using var session = new IngestSession(connection, tx, LockResourceSql, Ledger(connection, tx, ct), ct);
        await work(session);
        await session.Ledger.FlushAsync();
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<ConductTotals>> ConductTotalsAsync(string lenderId, ScoreGroup group, string? id, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, EventSql.ConductTotals(group, id is not null) + LimitClause,
            r => new ConductTotals(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetDouble(3)), ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("id", id ?? ""), ("limit", limit));
    }

    public async Task<IReadOnlyList<RiskyEvent>> RiskyEventsAsync(string lenderId, ScoreGroup group, string id, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, EventSql.RiskyEvents(group) + LimitClause,
            r => new RiskyEvent(r.GetString(0), FromMs(r.GetInt64(1)), r.GetDouble(2), JsonSerializer.Deserialize<List<Violation>>(r.GetString(3), JsonOptions) ?? [],
                r.GetString(4), r.GetString(5)), ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("id", id), ("limit", limit));
    }

    public async Task<Page<Incident>> ListIncidentsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, Severity minSeverity, int limit, string? after, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var rows = await QueryAsync(connection, EventSql.ListIncidents + LimitClause, ReadIncident, ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("min_severity", (int)minSeverity), ("after", after ?? ""), ("limit", limit + 1));
        return ToPage(rows, limit, i => i.IncidentId);
    }

    public async Task<Incident?> AcknowledgeIncidentAsync(string lenderId, string incidentId, string by, string note, DateTimeOffset at, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteAsync(connection, null, EventSql.AcknowledgeIncident, ct,
            ("lender_id", lenderId), ("incident_id", incidentId), ("acknowledged_at", ToMs(at)), ("acknowledged_by", by), ("note", note));
        return (await QueryAsync(connection, EventSql.SelectIncident, ReadIncident, ct, ("lender_id", lenderId), ("incident_id", incidentId))).FirstOrDefault();
    }

    private static StoredEvent ReadEvent(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), (EventKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7),
        (Channel)r.GetInt32(8), (ContactPurpose)r.GetInt32(9), r.GetString(10), r.GetString(11), (DestinationClass)r.GetInt32(12), r.GetString(13),
        (AttemptOutcome)r.GetInt32(14), r.GetInt64(15), FromMs(r.GetInt64(16)), FromMs(r.GetInt64(17)), r.GetBoolean(18), r.GetDouble(19),
        JsonSerializer.Deserialize<List<Violation>>(r.GetString(20), JsonOptions) ?? [], r.IsDBNull(21) ? null : r.GetString(21));

    private static Incident ReadIncident(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (Severity)r.GetInt32(4), r.GetString(5), r.GetString(6), r.GetString(7),
        JsonSerializer.Deserialize<List<string>>(r.GetString(8), JsonOptions) ?? [], FromMs(r.GetInt64(9)), FromMs(r.GetInt64(10)),
        r.IsDBNull(11) ? null : FromMs(r.GetInt64(11)), r.GetString(12), r.GetString(13));

    private static AttemptRow ReadAttemptRow(DbDataReader r) => new(r.GetString(10), r.GetString(11), ReadAttempt(r));

    /// <summary>One write transaction with prepared commands reused across the batch.</summary>
    private sealed class IngestSession(DbConnection connection, DbTransaction tx, string? lockSql, LedgerAppender ledger, CancellationToken ct) : IIngestSession, IAsyncDisposable
    {
        public LedgerAppender Ledger => ledger;

        private const int InChunk = 200;
        private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

        public async Task<IReadOnlyDictionary<string, StoredEvent>> ExistingEventsAsync(string lenderId, IReadOnlyCollection<string> eventIds)
        {
            var found = new Dictionary<string, StoredEvent>(StringComparer.Ordinal);
            foreach (var chunk in eventIds.Chunk(InChunk))
            {
                var command = Prepared(EventSql.SelectEventsIn(chunk.Length), ["lender_id", .. Enumerable.Range(0, chunk.Length).Select(i => $"id{i}")]);
                Bind(command, [lenderId, .. chunk]);
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var e = ReadEvent(reader);
                    found[e.EventId] = e;
                }
            }

            return found;
        }

        public async Task<Dictionary<string, List<AttemptRow>>> HistoriesAsync(string lenderId, IReadOnlyCollection<string> borrowerIds, DateTimeOffset since)
        {
            var histories = borrowerIds.ToDictionary(b => b, _ => new List<AttemptRow>(), StringComparer.Ordinal);
            foreach (var chunk in borrowerIds.Order(StringComparer.Ordinal).Chunk(InChunk))
            {
                if (lockSql is not null)
                {
                    // The same borrower locks the gate takes (in a fixed order), so events and decisions of one borrower are counted in one order.
                    foreach (var borrowerId in chunk)
                    {
                        await ExecuteAsync(connection, tx, lockSql, ct, ("resource", LockName($"borrower:{lenderId}:{borrowerId}")));
                    }
                }

                var command = Prepared(EventSql.HistoryIn(chunk.Length), ["lender_id", "since", .. Enumerable.Range(0, chunk.Length).Select(i => $"id{i}")]);
                Bind(command, [lenderId, ToMs(since), .. chunk]);
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    histories[reader.GetString(12)].Add(ReadAttemptRow(reader));
                }
            }

            return histories;
        }

        public async Task<AttemptRow?> AttemptOfCallAsync(string lenderId, string callId)
        {
            var command = Prepared(EventSql.AttemptOfCall, "lender_id", "call_id");
            Bind(command, lenderId, callId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? ReadAttemptRow(reader) : null;
        }

        public async Task<DecisionRecord?> DecisionAsync(string lenderId, string decisionId)
        {
            var command = Prepared(GateSql.SelectDecision, "lender_id", "decision_id");
            Bind(command, lenderId, decisionId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? ReadDecision(reader) : null;
        }

        public async Task AddEventAsync(StoredEvent e)
        {
            var command = Prepared(EventSql.InsertEvent, EventSql.EventParameters);
            Bind(command, e.LenderId, e.EventId, (int)e.Kind, e.AccountId, e.BorrowerId, e.CollectorId, e.DecisionId, e.CallId, (int)e.Channel,
                (int)e.Purpose, e.DestinationHash, e.DestinationMasked, (int)e.DestinationClass, e.PartyId, (int)e.Outcome, e.DurationMs,
                ToMs(e.OccurredAt), ToMs(e.ReceivedAt), e.Imported, e.RiskScore, JsonSerializer.Serialize(e.Violations, JsonOptions), e.Body);
            await command.ExecuteNonQueryAsync(ct);
            await ledger.AppendAsync(e.LenderId, LedgerKind.Event, e.EventId, e.AccountId, e.ReceivedAt, e);
        }

        public async Task AddAttemptAsync(string lenderId, string attemptId, string borrowerId, string callId, Attempt a)
        {
            var command = Prepared(EventSql.InsertAttemptWithCall, EventSql.AttemptParameters);
            Bind(command, lenderId, attemptId, borrowerId, a.AccountId, a.CollectorId, (int)a.Channel, a.DestinationHash, (int)a.DestinationClass,
                a.PartyId, (int)a.DestinationUse, (int)a.Purpose, (int)a.Outcome, ToMs(a.At), callId);
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task<bool> ConfirmReservationAsync(string lenderId, string decisionId, string callId, DateTimeOffset at)
        {
            var command = Prepared(EventSql.ConfirmReservation, "lender_id", "attempt_id", "call_id", "at");
            Bind(command, lenderId, decisionId, callId, ToMs(at));
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }

        public async Task SetOutcomeAsync(string lenderId, string attemptId, AttemptOutcome outcome)
        {
            var command = Prepared(EventSql.SetOutcome, "lender_id", "attempt_id", "outcome");
            Bind(command, lenderId, attemptId, (int)outcome);
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task<bool> IncidentExistsAsync(string lenderId, string accountId, string ruleId, DateTimeOffset since)
        {
            var command = Prepared(EventSql.IncidentExists, "lender_id", "account_id", "rule_id", "since");
            Bind(command, lenderId, accountId, ruleId, ToMs(since));
            return Convert.ToInt64(await command.ExecuteScalarAsync(ct)) > 0;
        }

        public async Task AddIncidentAsync(Incident i)
        {
            await ExecuteAsync(connection, tx, EventSql.InsertIncident, ct,
                ("lender_id", i.LenderId), ("incident_id", i.IncidentId), ("rule_id", i.RuleId), ("citation", i.Citation), ("severity", (int)i.Severity),
                ("account_id", i.AccountId), ("collector_id", i.CollectorId), ("summary", i.Summary), ("event_ids", JsonSerializer.Serialize(i.EventIds, JsonOptions)),
                ("occurred_at", ToMs(i.OccurredAt)), ("created_at", ToMs(i.CreatedAt)), ("acknowledged_by", ""), ("note", ""));
        }

        public async Task AddFlagAsync(string lenderId, string accountId, Flag flag, DateTimeOffset now)
        {
            await InsertFlagAsync(connection, tx, lenderId, accountId, flag, now, ct);
            await ledger.AppendAsync(lenderId, LedgerKind.FlagSet, flag.FlagId, accountId, now, flag);
        }

        /// <summary>One prepared command per statement for the whole batch (see <see cref="Prepare"/>).</summary>
        private DbCommand Prepared(string sql, params string[] names)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                _commands[sql] = command = Prepare(connection, tx, sql, names);
            }

            return command;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var command in _commands.Values)
            {
                await command.DisposeAsync();
            }
        }
    }
}

/// <summary>Statements of the event tables, shared by every provider.</summary>
internal static class EventSql
{
    private const string EventColumns = """
        lender_id, event_id, kind, account_id, borrower_id, collector_id, decision_id, call_id, channel, purpose, destination_hash,
        destination_masked, destination_class, party_id, outcome, duration_ms, occurred_at, received_at, imported, risk_score, violations, body
        """;
    public static readonly string[] EventParameters =
    [
        "lender_id", "event_id", "kind", "account_id", "borrower_id", "collector_id", "decision_id", "call_id", "channel", "purpose", "destination_hash",
        "destination_masked", "destination_class", "party_id", "outcome", "duration_ms", "occurred_at", "received_at", "imported", "risk_score", "violations", "body",
    ];
    public const string InsertEvent = $"""
        INSERT INTO events ({EventColumns})
        VALUES (@lender_id, @event_id, @kind, @account_id, @borrower_id, @collector_id, @decision_id, @call_id, @channel, @purpose, @destination_hash,
            @destination_masked, @destination_class, @party_id, @outcome, @duration_ms, @occurred_at, @received_at, @imported, @risk_score, @violations, @body)
        """;
    public static string SelectEventsIn(int count) =>
        $"SELECT {EventColumns} FROM events WHERE lender_id = @lender_id AND event_id IN ({string.Join(", ", Enumerable.Range(0, count).Select(i => $"@id{i}"))})";

    private static (string Column, string Join) Grouping(ScoreGroup group) => group switch
    {
        ScoreGroup.Collector => ("e.collector_id", ""),
        ScoreGroup.Account => ("e.account_id", ""),
        _ => ("c.agency_id", "JOIN collectors c ON c.lender_id = e.lender_id AND c.collector_id = e.collector_id"),
    };

    public static string ConductTotals(ScoreGroup group, bool one)
    {
        var (column, join) = Grouping(group);
        return $"""
            SELECT {column}, CAST(COUNT(*) AS BIGINT), CAST(SUM(CASE WHEN e.risk_score > 0 THEN 1 ELSE 0 END) AS BIGINT), SUM(e.risk_score)
            FROM events e {join}
            WHERE e.lender_id = @lender_id AND e.occurred_at >= @from AND e.occurred_at < @to AND e.imported = 0{(one ? $" AND {column} = @id" : "")}
            GROUP BY {column}
            ORDER BY SUM(e.risk_score) DESC, {column}
            """;
    }

    public static string RiskyEvents(ScoreGroup group)
    {
        var (column, join) = Grouping(group);
        return $"""
            SELECT e.event_id, e.occurred_at, e.risk_score, e.violations, e.account_id, e.collector_id
            FROM events e {join}
            WHERE e.lender_id = @lender_id AND e.occurred_at >= @from AND e.occurred_at < @to AND e.imported = 0 AND e.risk_score > 0 AND {column} = @id
            ORDER BY e.risk_score DESC, e.occurred_at DESC, e.event_id
            """;
    }

    public static readonly string[] AttemptParameters =
    [
        "lender_id", "attempt_id", "borrower_id", "account_id", "collector_id", "channel", "destination_hash", "destination_class", "party_id",
        "destination_use", "purpose", "outcome", "at", "call_id",
    ];
    public const string InsertAttemptWithCall = """
        INSERT INTO attempts (lender_id, attempt_id, borrower_id, account_id, collector_id, channel, destination_hash, destination_class, party_id,
            destination_use, purpose, outcome, at, reserved_until, released_at, call_id)
        VALUES (@lender_id, @attempt_id, @borrower_id, @account_id, @collector_id, @channel, @destination_hash, @destination_class, @party_id,
            @destination_use, @purpose, @outcome, @at, NULL, NULL, @call_id)
        """;
    private const string AttemptColumns = "at, account_id, collector_id, channel, destination_hash, destination_class, party_id, destination_use, purpose, outcome, attempt_id, call_id";
    public static string HistoryIn(int count) => $"""
        SELECT {AttemptColumns}, borrower_id FROM attempts
        WHERE lender_id = @lender_id AND at >= @since AND released_at IS NULL
          AND borrower_id IN ({string.Join(", ", Enumerable.Range(0, count).Select(i => $"@id{i}"))})
        ORDER BY borrower_id, at
        """;
    public const string AttemptOfCall = $"SELECT {AttemptColumns} FROM attempts WHERE lender_id = @lender_id AND call_id = @call_id AND call_id <> '' AND released_at IS NULL";
    public const string ConfirmReservation = """
        UPDATE attempts SET reserved_until = NULL, call_id = @call_id, at = @at
        WHERE lender_id = @lender_id AND attempt_id = @attempt_id AND reserved_until IS NOT NULL AND released_at IS NULL
        """;
    public const string SetOutcome = "UPDATE attempts SET outcome = @outcome WHERE lender_id = @lender_id AND attempt_id = @attempt_id";

    private const string IncidentColumns = """
        lender_id, incident_id, rule_id, citation, severity, account_id, collector_id, summary, event_ids, occurred_at, created_at,
        acknowledged_at, acknowledged_by, note
        """;
    public const string InsertIncident = $"""
        INSERT INTO incidents ({IncidentColumns})
        VALUES (@lender_id, @incident_id, @rule_id, @citation, @severity, @account_id, @collector_id, @summary, @event_ids, @occurred_at, @created_at,
            NULL, @acknowledged_by, @note)
        """;
    public const string IncidentExists = """
        SELECT COUNT(*) FROM incidents WHERE lender_id = @lender_id AND account_id = @account_id AND rule_id = @rule_id AND occurred_at >= @since
        """;
    public const string ListIncidents = $"""
        SELECT {IncidentColumns} FROM incidents
        WHERE lender_id = @lender_id AND created_at >= @from AND created_at < @to AND severity >= @min_severity AND incident_id > @after
        ORDER BY incident_id
        """;
    public const string SelectIncident = $"SELECT {IncidentColumns} FROM incidents WHERE lender_id = @lender_id AND incident_id = @incident_id";
    public const string AcknowledgeIncident = """
        UPDATE incidents SET acknowledged_at = @acknowledged_at, acknowledged_by = @acknowledged_by, note = @note
        WHERE lender_id = @lender_id AND incident_id = @incident_id AND acknowledged_at IS NULL
        """;
}
