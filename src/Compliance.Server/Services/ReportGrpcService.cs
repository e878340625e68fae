using Compliance.Api.V1;
using Compliance.Server.Infrastructure;
using Compliance.Server.Mapping;
using Compliance.Server.Security;
using Compliance.Storage;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Server.Services;

/// <summary>
/// Reports for compliance officers and auditors. Conduct scores are computed from the stored verdicts on request and
/// explained by the events and rules behind them; the scheduled period reports (ListReports, GetReport, RunReport) are
/// in the contract but not built yet and answer UNIMPLEMENTED.
/// </summary>
internal sealed class ReportGrpcService(IEventStore store, Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options, TimeProvider clock)
    : ReportService.ReportServiceBase
{
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
}
