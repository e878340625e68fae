using Compliance.Api.V1;
using Compliance.Server.Configuration;
using Compliance.Server.Infrastructure;
using Compliance.Server.Ingest;
using Compliance.Server.Mapping;
using Compliance.Server.Security;
using Compliance.Storage;
using Incident = Compliance.Api.V1.Incident;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Model = Compliance.Domain.Rules;

namespace Compliance.Server.Services;

/// <summary>Incidents for compliance officers: live (Watch) and stored (List, Acknowledge).</summary>
internal sealed class AlertGrpcService(IncidentHub hub, IEventStore store, TimeProvider clock, LiveCalls calls, IOptions<ComplianceOptions> options)
    : AlertService.AlertServiceBase
{
    /// <summary>Most incidents read from the store at once while a watcher catches up.</summary>
    private const int WatchPage = 200;

    private readonly TimeSpan _pollInterval = options.Value.Alerts.PollInterval;

    /// <summary>
    /// Tails the lender's incidents by sequence (schema 0017): the store numbers them in the order they commit, on any
    /// replica, so reading what lies above the last sequence sent gives every incident once and in order. This
    /// replica's own incidents wake the watch at once; others' are found by reading every poll interval.
    /// </summary>
    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        if (request.HasAfterSequence && request.AfterSequence < 0)
        {
            throw RpcErrors.InvalidArgument("after_sequence", "must not be negative (0 replays every stored incident)");
        }

        using var live = calls.Enter();
        var lender = context.Caller().Lender;
        // Subscribed before the newest sequence is read: an incident stored after that read wakes this watch.
        var (id, wake) = hub.Subscribe(lender);
        // A watch lasts until the watcher leaves or the service stops; then it ends with a status saying so.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, calls.Ending);
        var last = request.HasAfterSequence ? request.AfterSequence : 0;
        try
        {
            if (!request.HasAfterSequence)
            {
                last = await store.LastIncidentSequenceAsync(lender, watching.Token);
            }

            // Headers go out at once so the watcher knows it is subscribed before the first incident.
            await context.WriteResponseHeadersAsync([]);
            while (true)
            {
                var page = await store.IncidentsAfterAsync(lender, last, (Model.Severity)request.MinSeverity, WatchPage, watching.Token);
                foreach (var incident in page)
                {
                    await responseStream.WriteAsync(new WatchResponse { Incident = ToProto(incident) }, watching.Token);
                    last = incident.Sequence;
                }

                if (page.Count < WatchPage)
                {
                    await WaitAsync(wake, watching.Token);
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException) when (calls.Ending.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"The service is stopping; watch again with after_sequence {last} once it is back (or through another replica)."));
        }
        catch (System.Data.Common.DbException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"The incidents could not be read; watch again with after_sequence {last} to miss none."));
        }
        finally
        {
            hub.Unsubscribe(id);
        }
    }

    /// <summary>Until an incident is stored through this replica, or the poll interval has passed.</summary>
    private async Task WaitAsync(System.Threading.Channels.ChannelReader<bool> wake, CancellationToken ct)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        poll.CancelAfter(_pollInterval);
        try
        {
            await wake.ReadAsync(poll.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
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
            Sequence = i.Sequence,
        };
        incident.EventIds.AddRange(i.EventIds);
        return incident;
    }
}
