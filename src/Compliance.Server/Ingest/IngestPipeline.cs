using System.Threading.Channels;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Ingest;

/// <summary>An event waiting for its group commit, and the promise of its acknowledgement.</summary>
internal sealed record PendingEvent(string LenderId, V1.Event Event, string Field, bool Imported, DateTimeOffset ReceivedAt)
{
    public TaskCompletionSource<V1.EventAck> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The single writer behind every stream: takes whatever events are waiting (up to MaxBatch), scores and stores them
/// in one transaction (group commit), and only then completes their acknowledgements, so an acknowledged event is
/// durable. The queue is bounded: when storage falls behind, senders wait (backpressure) instead of growing memory.
/// </summary>
internal sealed class IngestPipeline(
    IEventStore store,
    EventProcessor processor,
    IncidentHub incidents,
    IOptions<ComplianceOptions> options,
    ILogger<IngestPipeline> logger) : BackgroundService
{
    private readonly Channel<PendingEvent> _queue = Channel.CreateBounded<PendingEvent>(
        new BoundedChannelOptions(options.Value.Ingest.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public ValueTask EnqueueAsync(PendingEvent pending, CancellationToken ct) => _queue.Writer.WriteAsync(pending, ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var max = options.Value.Ingest.MaxBatch;
        var batch = new List<PendingEvent>(max);
        while (await _queue.Reader.WaitToReadAsync(stoppingToken))
        {
            batch.Clear();
            while (batch.Count < max && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            await CommitAsync(batch, stoppingToken);
        }
    }

    private async Task CommitAsync(List<PendingEvent> batch, CancellationToken ct)
    {
        BatchResult? result = null;
        try
        {
            await store.RunIngestAsync(async session => result = await processor.ProcessAsync(session, batch, ct), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Nothing of the batch was stored: fail every event so its sender resends (resends are idempotent).
            logger.LogError(e, "Storing a batch of {Count} events failed; their senders are told to resend.", batch.Count);
            processor.AfterFailure();
            foreach (var pending in batch)
            {
                pending.Done.TrySetException(e);
            }

            return;
        }

        processor.AfterCommit(result!);
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Done.TrySetResult(result!.Acks[i]);
        }

        foreach (var incident in result!.Incidents)
        {
            incidents.Publish(incident);
        }
    }
}
