using System.Collections.Concurrent;
using Compliance.Domain.Reports;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;
using Quartz;

namespace Compliance.Server.Reports;

/// <summary>
/// Issues the scheduled reports that are due. A day, week or month is due at the first time its cron expression names
/// after the period ends, read in the lender's reporting zone (default: 02:00 the next day, Monday 02:00, 02:00 on the
/// 1st). Every replica runs this job on its own in-memory Quartz scheduler, at start (catching up missed periods,
/// oldest first) and then every <see cref="ReportOptions.CheckInterval"/>; the report's claim row lets one of them build
/// each report. It runs on Quartz's threads and reads without holding the writers up, so neither the gate nor the
/// stream waits for it.
/// </summary>
[DisallowConcurrentExecution]
internal sealed class ReportScheduleJob(ReportScheduler scheduler, TimeProvider clock) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await scheduler.RunDueAsync(clock.GetUtcNow(), cancellationToken);
}

/// <summary>Works out which scheduled reports are due and issues them (see <see cref="ReportScheduleJob"/>).</summary>
internal sealed class ReportScheduler(IReportStore store, ReportIssuer issuer, IOptions<ComplianceOptions> options, ILogger<ReportScheduler> logger)
{
    private static readonly ReportKind[] Kinds = [ReportKind.Daily, ReportKind.Weekly, ReportKind.Monthly];

    /// <summary>The newest period of each lender and kind known to be issued, so a look that finds nothing new reads nothing.</summary>
    private readonly ConcurrentDictionary<(string Lender, ReportKind Kind, string Zone), DateTimeOffset> _issuedUpTo = new();

    /// <summary>Issues every due report that is missing; returns how many this call issued.</summary>
    public async Task<int> RunDueAsync(DateTimeOffset now, CancellationToken ct)
    {
        var settings = options.Value.Reports;
        var issued = 0;
        foreach (var lender in await store.ReportingLendersAsync(ct))
        {
            var zone = TimeZoneInfo.TryFindSystemTimeZoneById(lender.TimeZone, out var z) ? z : TimeZoneInfo.Utc;
            foreach (var kind in Kinds)
            {
                var due = Due(kind, Cron(settings, kind, zone), zone, now, Max(lender.CreatedAt, now - settings.CatchUp));
                if (due.Count == 0 || _issuedUpTo.TryGetValue((lender.LenderId, kind, zone.Id), out var upTo) && upTo >= due[^1].End)
                {
                    continue;
                }

                foreach (var period in due)
                {
                    try
                    {
                        var result = await issuer.IssueAsync(lender.LenderId, period, "", ReportIssuer.Schedule, wait: false, ct);
                        if (result is { AlreadyIssued: false })
                        {
                            issued++;
                        }

                        if (result is null)
                        {
                            // Another replica is building it; look again next time.
                            break;
                        }

                        _issuedUpTo[(lender.LenderId, kind, zone.Id)] = period.End;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        logger.LogError(e, "The {Kind} report of lender {Lender} for {Period} could not be built; the next look tries again.", kind, lender.LenderId, period.Label);
                        break;
                    }
                }
            }
        }

        return issued;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static CronExpression Cron(ReportOptions settings, ReportKind kind, TimeZoneInfo zone) =>
        new(kind switch { ReportKind.Daily => settings.Daily, ReportKind.Weekly => settings.Weekly, _ => settings.Monthly }, zone);

    /// <summary>
    /// The periods of a kind that are due at <paramref name="now"/> and ended after <paramref name="since"/>, oldest first:
    /// a period is due once the schedule's first time after its end has come.
    /// </summary>
    public static IReadOnlyList<ReportPeriod> Due(ReportKind kind, CronExpression cron, TimeZoneInfo zone, DateTimeOffset now, DateTimeOffset since)
    {
        var due = new List<ReportPeriod>();
        var period = ReportPeriod.Containing(kind, now, zone).Previous(zone);
        // The newest ended period may not be due yet (before 02:00); the one before it then is, or will be soon.
        while (period.End > since && due.Count < 1000)
        {
            var at = cron.GetNextValidTimeAfter(period.End.AddMilliseconds(-1));
            if (at is { } fire && fire <= now)
            {
                due.Add(period);
            }

            period = period.Previous(zone);
        }

        due.Reverse();
        return due;
    }
}
