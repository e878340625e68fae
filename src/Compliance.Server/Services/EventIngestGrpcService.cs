using System.Threading.Channels;
using Compliance.Api.V1;
using Compliance.Server.Infrastructure;
using Compliance.Server.Ingest;
using Compliance.Server.Security;
using Grpc.Core;

namespace Compliance.Server.Services;

/// <summary>
/// The event stream: batches in, one acknowledgement per event out, in order. Acknowledgements are sent only after
/// the group commit that stored the events, so an acknowledged event is durable.
/// </summary>
internal sealed class EventIngestGrpcService(IngestPipeline pipeline, TimeProvider clock, ILogger<EventIngestGrpcService> logger,
    Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options, LiveCalls calls)
    : EventIngestService.EventIngestServiceBase
{
    private readonly int maxEvents = options.Value.Ingest.MaxEventsPerRequest;

    /// <summary>Batches one stream may have in flight before its reads pause (the client then feels HTTP/2 flow control).</summary>
    private const int InFlightBatches = 32;
    private const int MaxRejectionsReported = 100;

    public override async Task Stream(IAsyncStreamReader<StreamRequest> requestStream, IServerStreamWriter<StreamResponse> responseStream, ServerCallContext context)
    {
        using var live = calls.Enter();
        var lender = context.Caller().Lender;
        var inFlight = System.Threading.Channels.Channel.CreateBounded<PendingBatch>(new BoundedChannelOptions(InFlightBatches) { SingleReader = true, SingleWriter = true });
        // When acknowledging fails (the store is down), reading stops too, so the call ends at once with the error.
        // Reading also stops when the service stops: what was read is still acknowledged, then the stream ends saying so.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, calls.Ending);
        var writer = WriteAcksAsync(inFlight.Reader, responseStream, context.CancellationToken);
        _ = writer.ContinueWith(_ =>
        {
            try
            {
                reading.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call already ended.
            }
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(reading.Token))
            {
                var batch = await EnqueueAsync(lender, request.Events, imported: false, context, reading.Token);
                await inFlight.Writer.WriteAsync(batch, reading.Token);
            }
        }
        catch (OperationCanceledException) when (writer.IsFaulted)
        {
        }
        catch (OperationCanceledException) when (calls.Ending.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            inFlight.Writer.TryComplete();
            await writer;
            throw new RpcException(new Status(StatusCode.Unavailable,
                "The service is stopping; every acknowledged event is stored. Resend those without an acknowledgement once it is back."));
        }
        finally
        {
            inFlight.Writer.TryComplete();
        }

        await writer;
    }

    public override async Task<ImportHistoryResponse> ImportHistory(IAsyncStreamReader<ImportHistoryRequest> requestStream, ServerCallContext context)
    {
        var lender = context.Caller().Lender;
        var ct = context.CancellationToken;
        var response = new ImportHistoryResponse();
        var outstanding = new List<PendingBatch>();
        await foreach (var request in requestStream.ReadAllAsync(ct))
        {
            outstanding.Add(await EnqueueAsync(lender, request.Events, imported: true, context, ct));
            if (outstanding.Sum(b => b.Events.Count) >= 10_000)
            {
                await CountAsync(outstanding, response);
            }
        }

        await CountAsync(outstanding, response);
        return response;
    }

    /// <param name="call">The call the request came on: each stream waits its own turn within the lender's.</param>
    private async Task<PendingBatch> EnqueueAsync(string lender, IList<Event> events, bool imported, ServerCallContext call, CancellationToken ct)
    {
        // Checked before anything is parsed or queued: one request is one group-commit's share, not a backlog.
        if (events.Count > maxEvents)
        {
            throw RpcErrors.ResourceExhausted("events", $"at most {maxEvents:N0} events per request, not {events.Count:N0}; split them over several requests");
        }

        var batch = new PendingBatch(lender, events, imported, clock.GetUtcNow(), call);
        if (events.Count == 0)
        {
            batch.Done.TrySetResult([]);
        }
        else
        {
            await pipeline.EnqueueAsync(batch, ct);
        }

        return batch;
    }

    private async Task WriteAcksAsync(ChannelReader<PendingBatch> batches, IServerStreamWriter<StreamResponse> responseStream, CancellationToken ct)
    {
        await foreach (var batch in batches.ReadAllAsync(ct))
        {
            await responseStream.WriteAsync(new StreamResponse { Acks = { await Acknowledged(batch) } }, ct);
        }
    }

    private async Task<EventAck[]> Acknowledged(PendingBatch batch)
    {
        try
        {
            return await batch.Done.Task;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("A request of {Count} events could not be stored; the stream ends so the client resends.", batch.Events.Count);
            throw new RpcException(new Status(StatusCode.Unavailable, "Events could not be stored; resend every event not yet acknowledged (resends are idempotent)."));
        }
    }

    private async Task CountAsync(List<PendingBatch> outstanding, ImportHistoryResponse response)
    {
        foreach (var ack in (await Task.WhenAll(outstanding.Select(Acknowledged))).SelectMany(a => a))
        {
            switch (ack.Status)
            {
                case AckStatus.Accepted:
                    response.Imported++;
                    break;
                case AckStatus.Duplicate:
                    response.Duplicates++;
                    break;
                default:
                    response.Rejected++;
                    if (response.Rejections.Count < MaxRejectionsReported)
                    {
                        response.Rejections.Add(ack);
                    }

                    break;
            }
        }

        outstanding.Clear();
    }
}
