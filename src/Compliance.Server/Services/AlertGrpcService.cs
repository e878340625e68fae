using Compliance.Api.V1;
using Compliance.Server.Infrastructure;
using Compliance.Server.Ingest;
using Compliance.Server.Mapping;
using Compliance.Server.Security;
using Compliance.Storage;
using Incident = Compliance.Api.V1.Incident;
using Grpc.Core;
using Model = Compliance.Domain.Rules;

namespace Compliance.Server.Services;

/// <summary>Incidents for compliance officers: live (Watch) and stored (List, Acknowledge).</summary>
internal sealed class AlertGrpcService(IncidentHub hub, IEventStore store, TimeProvider clock, LiveCalls calls) : AlertService.AlertServiceBase
{
    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        using var live = calls.Enter();
        var lender = context.Caller().Lender;
        var (id, reader) = hub.Subscribe(lender);
        // A watch lasts until the watcher leaves or the service stops; then it ends with a status saying so.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, calls.Ending);
        try
        {
            // Headers go out at once so the watcher knows it is subscribed before the first incident.
            await context.WriteResponseHeadersAsync([]);
            await foreach (var incident in reader.ReadAllAsync(watching.Token))
            {
                if ((int)incident.Severity >= (int)request.MinSeverity)
                {
                    await responseStream.WriteAsync(new WatchResponse { Incident = ToProto(incident) }, watching.Token);
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException) when (calls.Ending.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                "The service is stopping; watch again once it is back (ListIncidents shows what was raised meanwhile)."));
        }
        finally
        {
            hub.Unsubscribe(id);
        }
    }

    public override async Task<ListIncidentsResponse> ListIncidents(ListIncidentsRequest request, ServerCallContext context)
    {
        var (limit, after) = Paging.Read(request.PageSize, request.PageToken);
        var from = Proto.Time(request.From, "from") ?? DateTimeOffset.UnixEpoch;
        var to = Proto.Time(request.To, "to") ?? clock.GetUtcNow().AddYears(1);
        var page = await store.ListIncidentsAsync(context.Caller().Lender, from, to, (Model.Severity)request.MinSeverity, limit, after, context.CancellationToken);
        var response = new ListIncidentsResponse { NextPageToken = Paging.Token(page.NextAfter) };
        response.Incidents.AddRange(page.Items.Select(ToProto));
        return response;
    }

    public override async Task<AcknowledgeIncidentResponse> AcknowledgeIncident(AcknowledgeIncidentRequest request, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Id(errors, "incident_id", request.IncidentId);
        Validate.Text(errors, "note", request.Note, 2000);
        errors.ThrowIfAny();
        var caller = context.Caller();
        var incident = await store.AcknowledgeIncidentAsync(caller.Lender, request.IncidentId, caller.KeyId, request.Note, clock.GetUtcNow(), context.CancellationToken)
            ?? throw RpcErrors.NotFound("incident", request.IncidentId);
        return new AcknowledgeIncidentResponse { Incident = ToProto(incident) };
    }

    private static Api.V1.Incident ToProto(Storage.Incident i)
    {
        var incident = new Api.V1.Incident
        {
            IncidentId = i.IncidentId,
            RuleId = i.RuleId,
            Citation = i.Citation,
            Severity = (Severity)i.Severity,
            AccountId = i.AccountId,
            CollectorId = i.CollectorId,
            Summary = i.Summary,
            OccurredAt = Proto.Time(i.OccurredAt),
            AcknowledgedAt = Proto.Time(i.AcknowledgedAt),
            AcknowledgedBy = i.AcknowledgedBy,
        };
        incident.EventIds.AddRange(i.EventIds);
        return incident;
    }
}
