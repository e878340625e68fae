using System.Threading.Channels;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Ingest;

/// <summary>The events of one request, waiting for their group commit, and the promise of their acknowledgements.</summary>
internal sealed class PendingBatch(string lenderId, IList<V1.Event> events, bool imported, DateTimeOffset receivedAt)
{
    public IReadOnlyList<PendingEvent> Events { get; } = events.Select((e, i) => new PendingEvent(lenderId, e, i, imported, receivedAt)).ToArray();

    public TaskCompletionSource<V1.EventAck[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>One event of a request: <see cref="Field"/> names it in errors ("events[3]").</summary>
internal sealed record PendingEvent(string LenderId, V1.Event Event, int Index, bool Imported, DateTimeOffset ReceivedAt)
{
    public string Field => $"events[{Index}]";
}

/// <summary>
/// The single writer behind every stream: takes whatever requests are waiting (up to MaxBatch events), scores and stores them
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
    // Requests, not events, are queued: a request of the usual 100 to 1,000 events costs one queue slot and one
    // completion. The bound is in requests of about a hundred events.
    private readonly Channel<PendingBatch> _queue = Channel.CreateBounded<PendingBatch>(
        new BoundedChannelOptions(Math.Max(4, options.Value.Ingest.QueueCapacity / 100)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public ValueTask EnqueueAsync(PendingBatch pending, CancellationToken ct) => _queue.Writer.WriteAsync(pending, ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var max = options.Value.Ingest.MaxBatch;
        var batches = new List<PendingBatch>();
        var events = new List<PendingEvent>(max);
        while (await _queue.Reader.WaitToReadAsync(stoppingToken))
        {
            batches.Clear();
            events.Clear();
            while (events.Count < max && _queue.Reader.TryRead(out var pending))
            {
                batches.Add(pending);
                events.AddRange(pending.Events);
            }

            await CommitAsync(batches, events, stoppingToken);
        }
    }

    private async Task CommitAsync(List<PendingBatch> batches, List<PendingEvent> events, CancellationToken ct)
    {
        BatchResult? result = null;
        try
        {
            await store.RunIngestAsync(async session => result = await processor.ProcessAsync(session, events, ct), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Nothing of the batch was stored: fail every event so its sender resends (resends are idempotent).
            logger.LogError(e, "Storing a batch of {Count} events failed; their senders are told to resend.", events.Count);
            processor.AfterFailure();
            foreach (var pending in batches)
            {
                pending.Done.TrySetException(e);
            }

            return;
        }

        processor.AfterCommit(result!);
        var offset = 0;
        foreach (var pending in batches)
        {
            pending.Done.TrySetResult(result!.Acks[offset..(offset + pending.Events.Count)]);
            offset += pending.Events.Count;
        }

        foreach (var incident in result!.Incidents)
        {
            incidents.Publish(incident);
        }
    }
}
