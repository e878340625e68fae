using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Reports;
using Compliance.Domain.Rules;

namespace Compliance.Storage;

/// <summary>Issued reports: claimed once, built from streamed reads, written once with their ledger entry.</summary>
public abstract partial class AdoStore : IReportStore
{
    public async Task<IReadOnlyList<ReportingLender>> ReportingLendersAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, ReportSql.SelectLenders, r => new ReportingLender(r.GetString(0), r.GetString(1), FromMs(r.GetInt64(2))), ct);
    }

    public async Task<string?> ReportingTimeZoneAsync(string lenderId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await QueryAsync(connection, ReportSql.SelectZone, r => r.GetString(0), ct, ("lender_id", lenderId))).FirstOrDefault();
    }

    public async Task SetReportingTimeZoneAsync(string lenderId, string timeZone, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteWriteAsync(connection, ReportSql.UpdateZone, ct, ("lender_id", lenderId), ("time_zone", timeZone));
    }

    public async Task<ReportClaim> ClaimReportAsync(ReportKey key, string claimer, string requestedBy, DateTimeOffset now, TimeSpan lease, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await ReadReportAsync(connection, ReportSql.SelectByPeriod, false, ct, ("lender_id", key.LenderId), ("kind", (int)key.Kind),
                ("period_start", ToMs(key.PeriodStart)), ("period_end", ToMs(key.PeriodEnd)), ("subject", key.Subject));
            if (existing is null)
            {
                try
                {
                    await ExecuteWriteAsync(connection, ReportSql.InsertClaim, ct, ("lender_id", key.LenderId), ("report_id", key.ReportId), ("kind", (int)key.Kind),
                        ("period_start", ToMs(key.PeriodStart)), ("period_end", ToMs(key.PeriodEnd)), ("subject", key.Subject), ("time_zone", key.TimeZone),
                        ("claimed_by", claimer), ("claimed_at", ToMs(now)), ("requested_by", requestedBy));
                    return new ReportClaim(ReportClaimOutcome.Claimed, new StoredReport(key, requestedBy, null, 0, 0, "", null, null));
                }
                catch (DbException e) when (attempt == 0 && IsUniqueViolation(e))
                {
                    // Another builder claimed it between the read and the insert: read what it claimed.
                    continue;
                }
            }

            if (existing.Issued)
            {
                return new ReportClaim(ReportClaimOutcome.Issued, existing);
            }

            // A claim not issued within the lease belongs to a builder that died or gave up: take it over, unless another
            // builder does so first (the update names the claim it replaces).
            var stale = ToMs(now - lease);
            var taken = await ExecuteWriteAsync(connection, ReportSql.TakeOverClaim, ct, ("lender_id", key.LenderId), ("report_id", existing.Key.ReportId),
                ("claimed_by", claimer), ("claimed_at", ToMs(now)), ("requested_by", requestedBy), ("stale", stale),
                ("previous_claimer", await ClaimerAsync(connection, key.LenderId, existing.Key.ReportId, ct)));
            return taken == 1
                ? new ReportClaim(ReportClaimOutcome.Claimed, existing with { RequestedBy = requestedBy })
                : new ReportClaim(ReportClaimOutcome.Busy, existing);
        }
    }

    private static async Task<string> ClaimerAsync(DbConnection connection, string lenderId, string reportId, CancellationToken ct) =>
        (await QueryAsync(connection, ReportSql.SelectClaimer, r => r.GetString(0), ct, ("lender_id", lenderId), ("report_id", reportId))).FirstOrDefault() ?? "";

    public async Task<StoredReport?> IssueReportAsync(ReportKey key, string claimer, DateTimeOffset at, long ledgerPosition, string summary, string content,
        string contentSha256, object ledgerPayload, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var held = (await QueryAsync(connection, ReportSql.SelectClaimer, r => r.GetString(0), ct, tx,
            ("lender_id", key.LenderId), ("report_id", key.ReportId))).FirstOrDefault();
        if (held != claimer)
        {
            return null;
        }

        var entry = await AppendOneAsync(connection, tx, key.LenderId, LedgerKind.Report, key.ReportId, key.Subject, at, ledgerPayload, ct);
        var issued = await ExecuteAsync(connection, tx, ReportSql.Issue, ct, ("lender_id", key.LenderId), ("report_id", key.ReportId), ("claimed_by", claimer),
            ("issued_at", ToMs(at)), ("ledger_position", ledgerPosition), ("ledger_entry", entry.Seq), ("content_sha256", contentSha256),
            ("summary", summary), ("content", content));
        if (issued != 1)
        {
            return null;
        }

        await tx.CommitAsync(ct);
        return await GetReportAsync(key.LenderId, key.ReportId, withContent: true, ct);
    }

    public async Task ReleaseReportClaimAsync(ReportKey key, string claimer, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteWriteAsync(connection, ReportSql.ReleaseClaim, ct, ("lender_id", key.LenderId), ("report_id", key.ReportId), ("claimed_by", claimer));
    }

    public async Task<StoredReport?> GetReportAsync(string lenderId, string reportId, bool withContent, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await ReadReportAsync(connection, withContent ? ReportSql.SelectWithContent : ReportSql.SelectById, withContent, ct,
            ("lender_id", lenderId), ("report_id", reportId));
    }

    public async Task<Page<StoredReport>> ListReportsAsync(string lenderId, ReportKind kind, int limit, string? after, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var rows = await QueryAsync(connection, ReportSql.List + LimitClause, r => ReadReport(r, false), ct,
            ("lender_id", lenderId), ("kind", (int)kind), ("after", after ?? ""), ("limit", limit + 1));
        return rows.Count > limit ? new Page<StoredReport>(rows.Take(limit).ToList(), rows[limit - 1].Key.ReportId) : new Page<StoredReport>(rows, null);
    }

    public async Task<ReportCut> ReportCutAsync(string lenderId, CancellationToken ct)
    {
        await SettleDecisionsAsync(ct);
        await using var connection = await OpenAsync(ct);
        // The head first: event batches at or before it are committed with their events, so the cut is consistent
        // even while the stream goes on writing.
        var head = Convert.ToInt64(await ScalarAsync(connection, null, ReportSql.HeadSeq, ct, ("lender_id", lenderId)) ?? 0L);
        var events = Convert.ToInt64(await ScalarAsync(connection, null, ReportSql.LastEventSeq, ct, ("lender_id", lenderId), ("ledger_seq", head)) ?? 0L);
        return new ReportCut(head, events);
    }

    public async IAsyncEnumerable<ReportEvent> ReportEventsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, string? accountId,
        [EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, accountId is null ? ReportSql.Events : ReportSql.EventsOfAccount,
            [("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("last_seq", lastSeq), ("account_id", accountId ?? "")]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return ReadReportEvent(reader);
        }
    }

    private static ReportEvent ReadReportEvent(DbDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), (EventKind)reader.GetInt32(2), reader.GetString(3), reader.GetString(4),
            (Channel)reader.GetInt32(5), reader.GetString(6), (DestinationClass)reader.GetInt32(7), (AttemptOutcome)reader.GetInt32(8), reader.GetInt64(9),
            FromMs(reader.GetInt64(10)), reader.GetBoolean(11), reader.GetDouble(12), reader.GetString(13), (EventCounting)reader.GetInt32(14));

    public async Task<long> ReportEventCountAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return Convert.ToInt64(await ScalarAsync(connection, null, ReportSql.CountEvents, ct,
            ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("last_seq", lastSeq)) ?? 0L);
    }

    public async Task<IReadOnlyList<ReportEventTally>> ReportEventTalliesAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, ReportSql.EventTallies, r => new ReportEventTally(r.GetString(0), Convert.ToInt64(r.GetValue(1)),
                Convert.ToInt64(r.GetValue(2)), Convert.ToInt64(r.GetValue(3)), Convert.ToInt64(r.GetValue(4)), Convert.ToInt64(r.GetValue(5)),
                r.GetDouble(6)),
            ct, ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("last_seq", lastSeq));
    }

    public async Task<IReadOnlyList<ReportViolationTally>> ReportViolationTalliesAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq,
        CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await QueryAsync(connection, ReportSql.ViolationTallies, r => new ReportViolationTally(r.GetString(0), r.GetString(1), Convert.ToInt64(r.GetValue(2))),
            ct, ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("last_seq", lastSeq));
    }

    public IAsyncEnumerable<ReportEvent> ReportEventsWithViolationsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct) =>
        StreamAsync(ReportSql.EventsWithViolations, ReadReportEvent, ct, ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)), ("last_seq", lastSeq));

    public async Task ReportProgressAsync(ReportKey key, string claimer, long counted, long total, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteWriteAsync(connection, ReportSql.UpdateProgress, ct, ("lender_id", key.LenderId), ("report_id", key.ReportId), ("claimed_by", claimer),
            ("counted", counted), ("total", total));
    }

    public async Task<ReportBuildProgress?> ReportBuildProgressAsync(ReportKey key, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await QueryAsync(connection, ReportSql.SelectProgress, r => new ReportBuildProgress(
                r.GetString(0), !r.IsDBNull(1), FromMs(r.GetInt64(2)), r.GetInt64(3), r.GetInt64(4)),
            ct, ("lender_id", key.LenderId), ("kind", (int)key.Kind), ("period_start", ToMs(key.PeriodStart)), ("period_end", ToMs(key.PeriodEnd)),
            ("subject", key.Subject))).FirstOrDefault();
    }

    public async IAsyncEnumerable<DecisionRecord> ReportDecisionsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken ct)
    {
        await SettleDecisionsAsync(ct);
        await foreach (var d in StreamAsync(GateSql.DecisionsInPeriod, ReadDecision, ct, ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to))))
        {
            yield return d;
        }
    }

    public IAsyncEnumerable<Incident> ReportIncidentsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        StreamAsync(ReportSql.Incidents, ReadIncident, ct, ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)));

    public IAsyncEnumerable<Complaint> ReportComplaintsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        StreamAsync(ReportSql.Complaints, ReadComplaint, ct, ("lender_id", lenderId), ("from", ToMs(from)), ("to", ToMs(to)));

    public async Task<string?> ReportContentSha256Async(string lenderId, string reportId, CancellationToken ct)
    {
        var report = await GetReportAsync(lenderId, reportId, withContent: true, ct);
        return report?.Content is { } content ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content))) : null;
    }

    private async IAsyncEnumerable<T> StreamAsync<T>(string sql, Func<DbDataReader, T> read, [EnumeratorCancellation] CancellationToken ct,
        params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return read(reader);
        }
    }

    private static async Task<StoredReport?> ReadReportAsync(DbConnection connection, string sql, bool withContent, CancellationToken ct,
        params (string Name, object? Value)[] parameters) =>
        (await QueryAsync(connection, sql, r => ReadReport(r, withContent), ct, parameters)).FirstOrDefault();

    private static StoredReport ReadReport(DbDataReader r, bool withContent) => new(
        new ReportKey(r.GetString(0), r.GetString(1), (ReportKind)r.GetInt32(2), FromMs(r.GetInt64(3)), FromMs(r.GetInt64(4)), r.GetString(5), r.GetString(6)),
        r.GetString(7),
        r.IsDBNull(8) ? null : FromMs(r.GetInt64(8)),
        r.IsDBNull(9) ? 0 : r.GetInt64(9),
        r.IsDBNull(10) ? 0 : r.GetInt64(10),
        r.IsDBNull(11) ? "" : r.GetString(11),
        r.IsDBNull(12) ? null : r.GetString(12),
        withContent && !r.IsDBNull(13) ? r.GetString(13) : null);
}

/// <summary>Statements of the report tables, shared by every provider.</summary>
internal static class ReportSql
{
    public const string SelectLenders = "SELECT lender_id, reporting_time_zone, created_at FROM lenders ORDER BY lender_id";
    public const string SelectZone = "SELECT reporting_time_zone FROM lenders WHERE lender_id = @lender_id";
    public const string UpdateZone = "UPDATE lenders SET reporting_time_zone = @time_zone WHERE lender_id = @lender_id";

    private const string Columns = """
        lender_id, report_id, kind, period_start, period_end, subject, time_zone, requested_by, issued_at, ledger_position, ledger_entry, content_sha256, summary
        """;
    public const string SelectById = $"SELECT {Columns} FROM reports WHERE lender_id = @lender_id AND report_id = @report_id";
    public const string SelectWithContent = $"SELECT {Columns}, content FROM reports WHERE lender_id = @lender_id AND report_id = @report_id";
    public const string SelectByPeriod = $"""
        SELECT {Columns} FROM reports
        WHERE lender_id = @lender_id AND kind = @kind AND period_start = @period_start AND period_end = @period_end AND subject = @subject
        """;
    public const string SelectClaimer = "SELECT claimed_by FROM reports WHERE lender_id = @lender_id AND report_id = @report_id";
    public const string List = $"""
        SELECT {Columns} FROM reports
        WHERE lender_id = @lender_id AND issued_at IS NOT NULL AND (@kind = 0 OR kind = @kind) AND (@after = '' OR report_id < @after)
        ORDER BY report_id DESC
        """;
    public const string InsertClaim = """
        INSERT INTO reports (lender_id, report_id, kind, period_start, period_end, subject, time_zone, claimed_by, claimed_at, requested_by)
        VALUES (@lender_id, @report_id, @kind, @period_start, @period_end, @subject, @time_zone, @claimed_by, @claimed_at, @requested_by)
        """;
    public const string TakeOverClaim = """
        UPDATE reports SET claimed_by = @claimed_by, claimed_at = @claimed_at, requested_by = @requested_by
        WHERE lender_id = @lender_id AND report_id = @report_id AND issued_at IS NULL AND claimed_at < @stale AND claimed_by = @previous_claimer
        """;
    /// <summary>A released claim reads as stale at once (claimed at the epoch).</summary>
    public const string ReleaseClaim = """
        UPDATE reports SET claimed_at = 0 WHERE lender_id = @lender_id AND report_id = @report_id AND claimed_by = @claimed_by AND issued_at IS NULL
        """;
    public const string Issue = """
        UPDATE reports SET issued_at = @issued_at, ledger_position = @ledger_position, ledger_entry = @ledger_entry, content_sha256 = @content_sha256,
            summary = @summary, content = @content
        WHERE lender_id = @lender_id AND report_id = @report_id AND claimed_by = @claimed_by AND issued_at IS NULL
        """;

    public const string HeadSeq = "SELECT COALESCE((SELECT seq FROM ledger_heads WHERE lender_id = @lender_id), 0)";
    public const string LastEventSeq = "SELECT COALESCE(MAX(last_seq), 0) FROM event_batches WHERE lender_id = @lender_id AND ledger_seq <= @ledger_seq";

    private const string EventColumns = """
        seq, event_id, kind, account_id, collector_id, channel, destination_masked, destination_class, outcome, duration_ms, occurred_at, imported,
        risk_score, violations, counts
        """;
    public const string Events = $"""
        SELECT {EventColumns} FROM event_log
        WHERE lender_id = @lender_id AND occurred_at >= @from AND occurred_at < @to AND seq <= @last_seq
        """;
    public const string EventsOfAccount = $"""
        SELECT {EventColumns} FROM event_log
        WHERE lender_id = @lender_id AND occurred_at >= @from AND occurred_at < @to AND seq <= @last_seq AND account_id = @account_id
        ORDER BY occurred_at, seq
        """;

    public const string CountEvents = """
        SELECT COUNT(*) FROM event_log WHERE lender_id = @lender_id AND occurred_at >= @from AND occurred_at < @to AND seq <= @last_seq
        """;

    private static readonly string Contacts = $"{(int)EventKind.CallPlaced}, {(int)EventKind.MessageSent}, {(int)EventKind.Visit}";

    /// <summary>
    /// Per collector, the figures a report counts of every event: events, imported ones, contacts (a call placed, a message
    /// sent, a visit), those to a third party (an unrelated party or an unknown number), conversations (a call connected
    /// to a conversation) and the summed risk. Summed by the database, so a report reads one
    /// row per collector rather than one per event.
    /// </summary>
    public static readonly string EventTallies = $"""
        SELECT collector_id, COUNT(*),
            SUM(CASE WHEN imported = 1 THEN 1 ELSE 0 END),
            SUM(CASE WHEN kind IN ({Contacts}) THEN 1 ELSE 0 END),
            SUM(CASE WHEN kind IN ({Contacts}) AND destination_class IN ({(int)DestinationClass.UnrelatedParty}, {(int)DestinationClass.Unknown}) THEN 1 ELSE 0 END),
            SUM(CASE WHEN kind = {(int)EventKind.CallConnected} AND outcome = {(int)AttemptOutcome.Conversation} THEN 1 ELSE 0 END),
            SUM(risk_score)
        FROM event_log
        WHERE lender_id = @lender_id AND occurred_at >= @from AND occurred_at < @to AND seq <= @last_seq
        GROUP BY collector_id
        """;

    /// <summary>
    /// The events that broke a rule counted per collector and list of violations (many events store the same list): the
    /// report reads each list once for the figures per rule. The groups come in the order of their first event, so a rule
    /// is first met where a pass over the events in time order would first meet it.
    /// </summary>
    public const string ViolationTallies = """
        SELECT collector_id, violations, COUNT(*)
        FROM event_log
        WHERE lender_id = @lender_id AND occurred_at >= @from AND occurred_at < @to AND seq <= @last_seq AND violations <> '[]'
        GROUP BY collector_id, violations
        ORDER BY MIN(occurred_at), MIN(seq)
        """;

    /// <summary>The events that broke a rule (few), in time order, for the listed frequency exceptions.</summary>
    public const string EventsWithViolations = $"""
        SELECT {EventColumns} FROM event_log
        WHERE lender_id = @lender_id AND occurred_at >= @from AND occurred_at < @to AND seq <= @last_seq AND violations <> '[]'
        ORDER BY occurred_at, seq
        """;

    public const string UpdateProgress = """
        UPDATE reports SET progress_counted = @counted, progress_total = @total
        WHERE lender_id = @lender_id AND report_id = @report_id AND claimed_by = @claimed_by AND issued_at IS NULL
        """;
    public const string SelectProgress = """
        SELECT report_id, issued_at, claimed_at, progress_counted, progress_total FROM reports
        WHERE lender_id = @lender_id AND kind = @kind AND period_start = @period_start AND period_end = @period_end AND subject = @subject
        """;

    public const string Incidents = """
        SELECT lender_id, incident_id, rule_id, citation, severity, account_id, collector_id, summary, event_ids, occurred_at, created_at,
            acknowledged_at, acknowledged_by, note, seq
        FROM incidents WHERE lender_id = @lender_id AND occurred_at >= @from AND occurred_at < @to ORDER BY occurred_at, incident_id
        """;
    public const string Complaints = """
        SELECT lender_id, complaint_id, source, reference, account_id, received_at, text, status, due_at, created_at, updated_at
        FROM complaints WHERE lender_id = @lender_id AND received_at >= @from AND received_at < @to ORDER BY received_at, complaint_id
        """;
}
