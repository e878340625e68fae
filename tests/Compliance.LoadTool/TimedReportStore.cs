using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Reports;
using Compliance.Storage;

namespace Compliance.LoadTool;

/// <summary>
/// The report store with a stopwatch per method: how many calls the build made of each read, how long they took in all
/// (a streamed read counts from its first call to its last row, the builder's work on the rows included) and how many
/// rows they returned, so the load tool's report run can say where a build's time goes.
/// </summary>
internal sealed class TimedReportStore(IReportStore inner) : IReportStore
{
    private readonly Dictionary<string, (int Calls, TimeSpan Time, TimeSpan Processor, long Rows)> phases = new(StringComparer.Ordinal);

    /// <summary>
    /// Per read: calls, wall time, the process's processor time meanwhile (the build does one thing at a time, so on a
    /// shared machine this is the steadier figure) and rows.
    /// </summary>
    public IReadOnlyList<(string Phase, int Calls, TimeSpan Time, TimeSpan Processor, long Rows)> Phases =>
        phases.Select(p => (p.Key, p.Value.Calls, p.Value.Time, p.Value.Processor, p.Value.Rows)).ToList();

    private static TimeSpan Processor() => Process.GetCurrentProcess().TotalProcessorTime;

    private void Record(string phase, TimeSpan time, TimeSpan processor, long rows)
    {
        lock (phases)
        {
            var (calls, total, cpu, count) = phases.GetValueOrDefault(phase);
            phases[phase] = (calls + 1, total + time, cpu + processor, count + rows);
        }
    }

    private async Task<T> TimeAsync<T>(string phase, Func<Task<T>> call, Func<T, long> rows)
    {
        var cpu = Processor();
        var clock = Stopwatch.StartNew();
        var result = await call();
        Record(phase, clock.Elapsed, Processor() - cpu, rows(result));
        return result;
    }

    private async IAsyncEnumerable<T> StreamAsync<T>(string phase, IAsyncEnumerable<T> source, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var cpu = Processor();
        var clock = Stopwatch.StartNew();
        long rows = 0;
        try
        {
            await foreach (var item in source.WithCancellation(ct))
            {
                rows++;
                yield return item;
            }
        }
        finally
        {
            // Also when the caller stops reading early.
            Record(phase, clock.Elapsed, Processor() - cpu, rows);
        }
    }

    public Task<IReadOnlyList<ReportingLender>> ReportingLendersAsync(CancellationToken ct) => inner.ReportingLendersAsync(ct);
    public Task<string?> ReportingTimeZoneAsync(string lenderId, CancellationToken ct) => inner.ReportingTimeZoneAsync(lenderId, ct);
    public Task SetReportingTimeZoneAsync(string lenderId, string timeZone, CancellationToken ct) => inner.SetReportingTimeZoneAsync(lenderId, timeZone, ct);

    public Task<ReportClaim> ClaimReportAsync(ReportKey key, string claimer, string requestedBy, DateTimeOffset now, TimeSpan lease, CancellationToken ct) =>
        inner.ClaimReportAsync(key, claimer, requestedBy, now, lease, ct);

    public Task<StoredReport?> IssueReportAsync(ReportKey key, string claimer, DateTimeOffset at, long ledgerPosition, string summary, string content,
        string contentSha256, object ledgerPayload, CancellationToken ct) =>
        inner.IssueReportAsync(key, claimer, at, ledgerPosition, summary, content, contentSha256, ledgerPayload, ct);

    public Task ReleaseReportClaimAsync(ReportKey key, string claimer, CancellationToken ct) => inner.ReleaseReportClaimAsync(key, claimer, ct);

    public Task<StoredReport?> GetReportAsync(string lenderId, string reportId, bool withContent, CancellationToken ct) =>
        inner.GetReportAsync(lenderId, reportId, withContent, ct);

    public Task<Page<StoredReport>> ListReportsAsync(string lenderId, ReportKind kind, int limit, string? after, CancellationToken ct) =>
        inner.ListReportsAsync(lenderId, kind, limit, after, ct);

    public Task<ReportCut> ReportCutAsync(string lenderId, CancellationToken ct) => TimeAsync("cut (ledger head)", () => inner.ReportCutAsync(lenderId, ct), _ => 1);

    public IAsyncEnumerable<ReportEvent> ReportEventsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, string? accountId, CancellationToken ct) =>
        StreamAsync("events one by one", inner.ReportEventsAsync(lenderId, from, to, lastSeq, accountId, ct), ct);

    public Task<long> ReportEventCountAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct) =>
        TimeAsync("count of the events", () => inner.ReportEventCountAsync(lenderId, from, to, lastSeq, ct), _ => 1);

    public Task<IReadOnlyList<ReportEventTally>> ReportEventTalliesAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct) =>
        TimeAsync("event sums per collector", () => inner.ReportEventTalliesAsync(lenderId, from, to, lastSeq, ct), r => r.Count);

    public Task<IReadOnlyList<ReportViolationTally>> ReportViolationTalliesAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq,
        CancellationToken ct) =>
        TimeAsync("violations per collector and list", () => inner.ReportViolationTalliesAsync(lenderId, from, to, lastSeq, ct), r => r.Count);

    public IAsyncEnumerable<ReportEvent> ReportEventsWithViolationsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, long lastSeq, CancellationToken ct) =>
        StreamAsync("events with violations (listed exceptions)", inner.ReportEventsWithViolationsAsync(lenderId, from, to, lastSeq, ct), ct);

    public Task ReportProgressAsync(ReportKey key, string claimer, long counted, long total, CancellationToken ct) =>
        inner.ReportProgressAsync(key, claimer, counted, total, ct);

    public Task<ReportBuildProgress?> ReportBuildProgressAsync(ReportKey key, CancellationToken ct) => inner.ReportBuildProgressAsync(key, ct);

    public IAsyncEnumerable<DecisionRecord> ReportDecisionsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        StreamAsync("gate decisions", inner.ReportDecisionsAsync(lenderId, from, to, ct), ct);

    public IAsyncEnumerable<Incident> ReportIncidentsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        StreamAsync("incidents", inner.ReportIncidentsAsync(lenderId, from, to, ct), ct);

    public IAsyncEnumerable<Complaint> ReportComplaintsAsync(string lenderId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        StreamAsync("complaints", inner.ReportComplaintsAsync(lenderId, from, to, ct), ct);

    public Task<string?> ReportContentSha256Async(string lenderId, string reportId, CancellationToken ct) => inner.ReportContentSha256Async(lenderId, reportId, ct);
}
