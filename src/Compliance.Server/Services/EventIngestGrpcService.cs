using System.Threading.Channels;
using Compliance.Api.V1;
using Compliance.Server.Ingest;
using Compliance.Server.Security;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Compliance.Server.Services;

/// <summary>
/// The event stream: batches in, one acknowledgement per event out, in order. Acknowledgements are sent only after
/// the group commit that stored the events, so an acknowledged event is durable.
/// </summary>
[Authorize(Roles = Roles.Writers)]
internal sealed class EventIngestGrpcService(IngestPipeline pipeline, TimeProvider clock, ILogger<EventIngestGrpcService> logger)
    : EventIngestService.EventIngestServiceBase
{
    /// <summary>Batches one stream may have in flight before its reads pause (the client then feels HTTP/2 flow control).</summary>
    private const int InFlightBatches = 32;
    private const int MaxRejectionsReported = 100;

    public override async Task Stream(IAsyncStreamReader<StreamRequest> requestStream, IServerStreamWriter<StreamResponse> responseStream, ServerCallContext context)
    {
        var lender = context.Caller().Lender;
        var inFlight = System.Threading.Channels.Channel.CreateBounded<List<PendingEvent>>(new BoundedChannelOptions(InFlightBatches) { SingleReader = true, SingleWriter = true });
        // When acknowledging fails (the store is down), reading stops too, so the call ends at once with the error.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
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
                var batch = await EnqueueAsync(lender, request.Events, imported: false, reading.Token);
                await inFlight.Writer.WriteAsync(batch, reading.Token);
            }
        }
        catch (OperationCanceledException) when (writer.IsFaulted)
        {
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
        var outstanding = new List<PendingEvent>();
        await foreach (var request in requestStream.ReadAllAsync(ct))
        {
            outstanding.AddRange(await EnqueueAsync(lender, request.Events, imported: true, ct));
            if (outstanding.Count >= 10_000)
            {
                await CountAsync(outstanding, response);
            }
        }

        await CountAsync(outstanding, response);
        return response;
    }

    private async Task<List<PendingEvent>> EnqueueAsync(string lender, IList<Event> events, bool imported, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var batch = new List<PendingEvent>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var pending = new PendingEvent(lender, events[i], $"events[{i}]", imported, now);
            await pipeline.EnqueueAsync(pending, ct);
            batch.Add(pending);
        }

        return batch;
    }

    private async Task WriteAcksAsync(ChannelReader<List<PendingEvent>> batches, IServerStreamWriter<StreamResponse> responseStream, CancellationToken ct)
    {
        await foreach (var batch in batches.ReadAllAsync(ct))
        {
            var response = new StreamResponse();
            foreach (var pending in batch)
            {
                response.Acks.Add(await Acknowledged(pending));
            }

            await responseStream.WriteAsync(response, ct);
        }
    }

    private async Task<EventAck> Acknowledged(PendingEvent pending)
    {
        try
        {
            return await pending.Done.Task;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Event {Event} could not be stored; the stream ends so the client resends.", pending.Event.EventId);
            throw new RpcException(new Status(StatusCode.Unavailable, "Events could not be stored; resend every event not yet acknowledged (resends are idempotent)."));
        }
    }

    private async Task CountAsync(List<PendingEvent> outstanding, ImportHistoryResponse response)
    {
        foreach (var pending in outstanding)
        {
            var ack = await Acknowledged(pending);
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
