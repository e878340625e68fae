using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Compliance.Domain.Reports;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Reports;

/// <summary>The headline figures kept beside a report, so a list of reports needs no report's content.</summary>
public sealed record ReportHeadline(ReportTotals Totals, IReadOnlyList<RuleRow> Rules, bool Empty, IReadOnlyList<string> PolicyVersions);

/// <summary>
/// Issues reports: exactly one per lender, kind, period and subject, whoever asks (the schedule on any replica, a retry,
/// a person). The builder first claims the report's row (a unique key admits one claim); the winner builds it from the
/// records up to the lender's ledger head and writes it once, with a ledger entry holding the SHA-256 of its content.
/// Everyone else gets that report.
/// </summary>
internal sealed class ReportIssuer(IReportStore store, ReportBuilder builder, IOptions<ComplianceOptions> options, TimeProvider clock, ILogger<ReportIssuer> logger)
{
    public const string Schedule = "schedule";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Who this replica is when it claims a report (unique per process and host).</summary>
    private readonly string _claimer = $"{Environment.MachineName[..Math.Min(60, Environment.MachineName.Length)]}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>The lender's reporting zone (UTC until set).</summary>
    public async Task<TimeZoneInfo> ZoneAsync(string lenderId, CancellationToken ct) =>
        await store.ReportingTimeZoneAsync(lenderId, ct) is { } id && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;

    /// <summary>The report's unique key and readable id: daily-2026-12-05, weekly-2026-11-30, monthly-2026-11, or kind, first day and a hash of the period.</summary>
    public static ReportKey Key(string lenderId, ReportPeriod period, string subject)
    {
        var kind = period.Kind;
        var id = kind switch
        {
            ReportKind.Daily => $"daily-{period.FirstDay:yyyy-MM-dd}",
            ReportKind.Weekly => $"weekly-{period.FirstDay:yyyy-MM-dd}",
            ReportKind.Monthly => $"monthly-{period.FirstDay:yyyy-MM}",
            _ => $"{Prefix(kind)}-{period.FirstDay:yyyy-MM-dd}-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
                $"{period.Start.ToUnixTimeMilliseconds()}|{period.End.ToUnixTimeMilliseconds()}|{period.TimeZone}|{subject}")))[..10],
        };
        return new ReportKey(lenderId, id, kind, period.Start, period.End, subject, period.TimeZone);
    }

    private static string Prefix(ReportKind kind) => kind switch
    {
        ReportKind.ExaminerExport => "examiner",
        ReportKind.SafeHarbor => "safe-harbor",
        _ => "period",
    };

    /// <summary>
    /// The report for the period: issued now, or the one already issued. Returns null when another builder holds a live
    /// claim and <paramref name="wait"/> is false (the schedule moves on; it will find it issued later).
    /// </summary>
    public async Task<(StoredReport Report, bool AlreadyIssued)?> IssueAsync(string lenderId, ReportPeriod period, string subject, string requestedBy, bool wait,
        CancellationToken ct)
    {
        var key = Key(lenderId, period, subject);
        var lease = options.Value.Reports.ClaimLease;
        var waitUntil = clock.GetUtcNow() + lease;
        while (true)
        {
            var claim = await store.ClaimReportAsync(key, _claimer, requestedBy, clock.GetUtcNow(), lease, ct);
            switch (claim.Outcome)
            {
                case ReportClaimOutcome.Issued:
                    return (claim.Report, true);
                case ReportClaimOutcome.Busy when !wait || clock.GetUtcNow() > waitUntil:
                    return null;
                case ReportClaimOutcome.Busy:
                    await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
                    continue;
            }

            try
            {
                var issued = await BuildAndIssueAsync(key, period, ct);
                if (issued is not null)
                {
                    logger.LogInformation("Issued report {Report} of lender {Lender} ({Start:u} to {End:u}, built up to ledger entry {Seq}).",
                        key.ReportId, lenderId, period.Start, period.End, issued.LedgerPosition);
                    return (issued, false);
                }

                // The claim was taken over meanwhile (this build outlived its lease): the other builder's report stands.
            }
            catch
            {
                await store.ReleaseReportClaimAsync(key, _claimer, CancellationToken.None);
                throw;
            }
        }
    }

    private async Task<StoredReport?> BuildAndIssueAsync(ReportKey key, ReportPeriod period, CancellationToken ct)
    {
        var cut = await store.ReportCutAsync(key.LenderId, ct);
        var builtAt = clock.GetUtcNow();
        // The build's progress goes to the report's row, where GetReportProgress reads it (on whichever replica is asked).
        var document = await builder.BuildAsync(key, period, cut, builtAt, (counted, total, token) => store.ReportProgressAsync(key, _claimer, counted, total, token), ct);
        var content = JsonSerializer.Serialize(document, Json);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
        var headline = JsonSerializer.Serialize(new ReportHeadline(document.Totals, document.Rules, document.Empty, document.PolicyVersions), Json);
        var payload = new ReportLedgerPayload(key.ReportId, key.Kind.ToString(), key.PeriodStart, key.PeriodEnd, key.TimeZone, key.Subject, cut.LedgerSeq, sha);
        return await store.IssueReportAsync(key, _claimer, builtAt, cut.LedgerSeq, headline, content, sha, payload, ct);
    }

    public static ReportHeadline? Headline(StoredReport report) =>
        report.Summary is null ? null : JsonSerializer.Deserialize<ReportHeadline>(report.Summary, Json);

    public static ReportDocument Document(StoredReport report) =>
        JsonSerializer.Deserialize<ReportDocument>(report.Content ?? throw new InvalidOperationException($"Report {report.Key.ReportId} has no content."), Json)
        ?? throw new InvalidDataException($"Report {report.Key.ReportId} has empty content.");
}
