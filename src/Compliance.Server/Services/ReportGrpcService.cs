using Compliance.Api.V1;
using Compliance.Server.Infrastructure;
using Compliance.Server.Mapping;
using Compliance.Server.Reports;
using Compliance.Server.Security;
using Compliance.Storage;
using Model = Compliance.Domain.Reports;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Server.Services;

/// <summary>
/// Reports for compliance officers and auditors. Conduct scores are computed from the stored verdicts on request and
/// explained by the events and rules behind them. Period reports (daily, weekly, monthly on a schedule; any period, an
/// examiner export or an account's safe-harbour statement on request) are issued once and read back as JSON, CSV or
/// HTML; collection systems' keys may not read or run them.
/// </summary>
internal sealed class ReportGrpcService(IEventStore store, IReportStore reports, IRegistryStore registry, ReportIssuer issuer, ReportVerifier verifier,
    Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options, TimeProvider clock)
    : ReportService.ReportServiceBase
{
    private static readonly TimeSpan LongestPeriod = TimeSpan.FromDays(400);

    private const int TopEvents = 20;
    private const int ExplainedEvents = 5_000;
    private static readonly TimeSpan DefaultWindow = TimeSpan.FromDays(30);

    public override async Task<GetConductScoresResponse> GetConductScores(GetConductScoresRequest request, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Defined(errors, "scope", request.Scope);
        Validate.Id(errors, "id", request.Id, required: false);
        if (request.Limit is < 0 or > 500)
        {
            errors.Add(new FieldError("limit", "must be between 0 and 500"));
        }

        var window = Proto.Span(request.Window, "window") ?? DefaultWindow;
        if (window <= TimeSpan.Zero || window > TimeSpan.FromDays(400))
        {
            errors.Add(new FieldError("window", "must be between 1 second and 400 days"));
        }

        errors.ThrowIfAny();
        var lender = context.Caller().Lender;
        // The window ends now; events stamped up to the skew ahead of now (senders' clocks that run ahead, accepted
        // that far) are counted in it too, but the window is not said to end in the future.
        var now = clock.GetUtcNow();
        var to = now + options.Value.Ingest.FutureSkew;
        var from = to - window;
        var group = (ScoreGroup)request.Scope;
        var totals = await store.ConductTotalsAsync(lender, group, request.Id.Length > 0 ? request.Id : null, from, to,
            request.Limit == 0 ? 20 : request.Limit, context.CancellationToken);
        if (request.Id.Length > 0 && totals.Count == 0)
        {
            totals = [new ConductTotals(request.Id, 0, 0, 0)];
        }

        var response = new GetConductScoresResponse { WindowStart = Proto.Time(now - window), WindowEnd = Proto.Time(now) };
        foreach (var t in totals)
        {
            var risky = t.TotalRisk > 0
                ? await store.RiskyEventsAsync(lender, group, t.Id, from, to, ExplainedEvents, context.CancellationToken)
                : [];
            var score = new ConductScore
            {
                Scope = request.Scope,
                Id = t.Id,
                // Collectors and agencies: mean risk per event. Accounts: the summed risk of what was done to them, capped.
                Score = group == ScoreGroup.Account ? Math.Min(100, t.TotalRisk) : t.Events == 0 ? 0 : Math.Round(t.TotalRisk / t.Events, 2),
                Events = t.Events,
                EventsWithViolations = t.EventsWithViolations,
                TotalRisk = t.TotalRisk,
            };
            foreach (var rule in risky.SelectMany(e => e.Violations.Select(v => v.Rule.RuleId).Distinct()).GroupBy(r => r))
            {
                score.ViolationsByRule[rule.Key] = rule.LongCount();
            }

            score.TopEvents.AddRange(risky.Take(TopEvents).Select(e =>
            {
                var scored = new ScoredEvent
                {
                    EventId = e.EventId,
                    OccurredAt = Proto.Time(e.OccurredAt),
                    RiskScore = e.RiskScore,
                    AccountId = e.AccountId,
                    CollectorId = e.CollectorId,
                };
                scored.RuleIds.AddRange(e.Violations.Select(v => v.Rule.RuleId));
                return scored;
            }));
            response.Scores.Add(score);
        }

        return response;
    }

    public override async Task<ListReportsResponse> ListReports(ListReportsRequest request, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Defined(errors, "kind", request.Kind, required: false);
        errors.ThrowIfAny();
        var (limit, after) = Paging.Read(request.PageSize, request.PageToken);
        var page = await reports.ListReportsAsync(context.Caller().Lender, (Model.ReportKind)request.Kind, limit, after, context.CancellationToken);
        var response = new ListReportsResponse { NextPageToken = Paging.Token(page.NextAfter) };
        response.Reports.AddRange(page.Items.Select(ToProto));
        return response;
    }

    public override async Task<GetReportResponse> GetReport(GetReportRequest request, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Id(errors, "report_id", request.ReportId);
        Validate.Defined(errors, "format", request.Format, required: false);
        if (request.Table.Length > 0 && request.Format != Api.V1.ReportFormat.Csv)
        {
            errors.Add(new FieldError("table", "applies to the CSV format only"));
        }

        errors.ThrowIfAny();
        var report = await reports.GetReportAsync(context.Caller().Lender, request.ReportId, withContent: true, context.CancellationToken);
        if (report is not { Issued: true, Content: { } json })
        {
            throw RpcErrors.NotFound("report", request.ReportId);
        }

        var format = request.Format == Api.V1.ReportFormat.Unspecified ? Reports.ReportFormat.Json : (Reports.ReportFormat)request.Format;
        var verification = format == Reports.ReportFormat.Html
            ? await verifier.VerifyAsync(report, context.CancellationToken)
            : new ReportVerification(true, report.LedgerEntry, report.ContentSha256, null, "");
        RenderedReport rendered;
        try
        {
            rendered = ReportRenderer.Render(ReportIssuer.Document(report), json, format, request.Table, verification);
        }
        catch (UnknownReportTableException e)
        {
            throw RpcErrors.InvalidArgument("table", e.Message);
        }

        return new GetReportResponse { Report = ToProto(report), Content = Google.Protobuf.ByteString.CopyFrom(rendered.Content), ContentType = rendered.ContentType };
    }

    public override async Task<RunReportResponse> RunReport(RunReportRequest request, ServerCallContext context)
    {
        var period = await PeriodOfAsync(request, "", context);
        var caller = context.Caller();
        if (request.Kind == ReportKind.SafeHarbor && await registry.GetAccountAsync(caller.Lender, request.AccountId, context.CancellationToken) is null)
        {
            throw RpcErrors.NotFound("account", request.AccountId);
        }

        try
        {
            var result = await issuer.IssueAsync(caller.Lender, period, request.AccountId, caller.KeyId, wait: true, context.CancellationToken)
                ?? throw new RpcException(new Status(StatusCode.Unavailable, "Another replica is building this report and has not finished within the claim lease; try again."));
            return new RunReportResponse { Report = ToProto(result.Report), AlreadyIssued = result.AlreadyIssued };
        }
        catch (ReportTooLargeException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }

    public override async Task<GetReportProgressResponse> GetReportProgress(GetReportProgressRequest request, ServerCallContext context)
    {
        if (request.Run is null)
        {
            throw RpcErrors.InvalidArgument("run", "is required: the request given to RunReport");
        }

        var period = await PeriodOfAsync(request.Run, "run.", context);
        var key = ReportIssuer.Key(context.Caller().Lender, period, request.Run.AccountId);
        var row = await reports.ReportBuildProgressAsync(key, context.CancellationToken);
        return new GetReportProgressResponse
        {
            ReportId = row?.ReportId ?? key.ReportId,
            State = row is null ? ReportBuildState.NotStarted : row.Issued ? ReportBuildState.Issued : ReportBuildState.Building,
            EventsCounted = row?.Counted ?? 0,
            EventsTotal = row?.Total ?? 0,
            StartedAt = row is null ? null : Proto.Time(row.ClaimedAt),
        };
    }

    /// <summary>The period a RunReport request names, in the lender's reporting zone; its fields checked (named under <paramref name="prefix"/>).</summary>
    private async Task<Model.ReportPeriod> PeriodOfAsync(RunReportRequest request, string prefix, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Defined(errors, prefix + "kind", request.Kind);
        if (request.PeriodStart is null)
        {
            errors.Add(new FieldError(prefix + "period_start", "is required"));
        }

        var kind = (Model.ReportKind)request.Kind;
        var scheduled = Model.ReportPeriod.IsScheduled(kind);
        if (!scheduled && request.PeriodEnd is null && kind != Model.ReportKind.Unspecified)
        {
            errors.Add(new FieldError(prefix + "period_end", "is required for this kind of report"));
        }

        Validate.Id(errors, prefix + "account_id", request.AccountId, required: kind == Model.ReportKind.SafeHarbor);
        if (kind != Model.ReportKind.SafeHarbor && request.AccountId.Length > 0)
        {
            errors.Add(new FieldError(prefix + "account_id", "applies to safe-harbour statements only"));
        }

        errors.ThrowIfAny();
        var zone = await issuer.ZoneAsync(context.Caller().Lender, context.CancellationToken);
        var now = clock.GetUtcNow();
        var start = Proto.Time(request.PeriodStart, prefix + "period_start")!.Value;
        Model.ReportPeriod period;
        if (scheduled)
        {
            period = Model.ReportPeriod.Containing(kind, start, zone);
        }
        else
        {
            var end = Proto.Time(request.PeriodEnd, prefix + "period_end")!.Value;
            if (end <= start)
            {
                throw RpcErrors.InvalidArgument(prefix + "period_end", $"must be after {prefix}period_start");
            }

            if (end - start > LongestPeriod)
            {
                throw RpcErrors.InvalidArgument(prefix + "period_end", $"the period may be at most {LongestPeriod.TotalDays:0} days long");
            }

            period = Model.ReportPeriod.Between(kind, start, end, zone);
        }

        // A report is issued once and never changes, so it covers only a period that is over.
        if (period.End > now)
        {
            throw RpcErrors.InvalidArgument(prefix + (scheduled ? "period_start" : "period_end"),
                $"the period ends at {period.End:yyyy-MM-dd HH:mm}Z, which has not come yet; a report is issued once, for a period that is over");
        }

        return period;
    }

    public override async Task<GetReportSettingsResponse> GetReportSettings(GetReportSettingsRequest request, ServerCallContext context)
    {
        var zone = await issuer.ZoneAsync(context.Caller().Lender, context.CancellationToken);
        return new GetReportSettingsResponse { Settings = new ReportSettings { TimeZone = zone.Id } };
    }

    public override async Task<UpdateReportSettingsResponse> UpdateReportSettings(UpdateReportSettingsRequest request, ServerCallContext context)
    {
        var zone = request.Settings?.TimeZone ?? "";
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zone, out var found))
        {
            throw RpcErrors.InvalidArgument("settings.time_zone", "must be an IANA time zone, e.g. America/New_York");
        }

        var lender = context.Caller().Lender;
        await reports.SetReportingTimeZoneAsync(lender, found.Id, context.CancellationToken);
        return new UpdateReportSettingsResponse { Settings = new ReportSettings { TimeZone = found.Id } };
    }

    private static Report ToProto(StoredReport r)
    {
        var report = new Report
        {
            ReportId = r.Key.ReportId,
            Kind = (ReportKind)r.Key.Kind,
            PeriodStart = Proto.Time(r.Key.PeriodStart),
            PeriodEnd = Proto.Time(r.Key.PeriodEnd),
            CreatedAt = Proto.Time(r.IssuedAt),
            LedgerSequence = r.LedgerPosition,
            TimeZone = r.Key.TimeZone,
            ContentSha256 = r.ContentSha256,
            LedgerEntrySequence = r.LedgerEntry,
            AccountId = r.Key.Subject,
            RequestedBy = r.RequestedBy,
        };
        if (ReportIssuer.Headline(r) is { } headline)
        {
            var t = headline.Totals;
            report.Empty = headline.Empty;
            report.PolicyVersions.AddRange(headline.PolicyVersions);
            report.Summary = new ReportSummary
            {
                Decisions = t.Decisions,
                Denied = t.Denied,
                Events = t.Events,
                Violations = t.Violations,
                Incidents = t.Incidents,
                ThirdPartyContacts = t.ThirdPartyContacts,
            };
            report.Summary.Rules.AddRange(headline.Rules.Select(x => new RuleCount { RuleId = x.RuleId, Citation = x.Citation, Denied = x.Denied, Violations = x.Violations, Shadow = x.Shadow }));
        }

        return report;
    }
}
