using System.Threading.Channels;
using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;
using V1 = Compliance.Api.V1;

namespace Compliance.Server.Ingest;

/// <summary>The events of one request, waiting for their group commit, and the promise of their acknowledgements.</summary>
/// <param name="source">The call the request came on: a lender's streams are served in turn (<see cref="LenderQueues"/>).</param>
internal sealed class PendingBatch(string lenderId, IList<V1.Event> events, bool imported, DateTimeOffset receivedAt, object source)
{
    public string LenderId { get; } = lenderId;

    /// <summary>The call the request came on.</summary>
    public object Source { get; } = source;

    public IReadOnlyList<PendingEvent> Events { get; } = Wrap(lenderId, events, imported, receivedAt);

    public TaskCompletionSource<V1.EventAck[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When the request was queued (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), for the time it waited.</summary>
    public long Queued { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Into an array of the request's size (an indexed Select's ToArray grew its buffer from empty).</summary>
    private static PendingEvent[] Wrap(string lenderId, IList<V1.Event> events, bool imported, DateTimeOffset receivedAt)
    {
        var wrapped = new PendingEvent[events.Count];
        for (var i = 0; i < wrapped.Length; i++)
        {
            wrapped[i] = new PendingEvent(lenderId, events[i], i, imported, receivedAt);
        }

        return wrapped;
    }
}

/// <summary>One event of a request: <see cref="Field"/> names it in errors ("events[3]").</summary>
internal sealed record PendingEvent(string LenderId, V1.Event Event, int Index, bool Imported, DateTimeOffset ReceivedAt)
{
    public string Field => $"events[{Index}]";
}

/// <summary>
/// The writer behind every stream: takes whatever requests are waiting (up to MaxBatch events), scores and stores
/// them in one transaction (group commit), and only then completes their acknowledgements, so an acknowledged event
/// is durable. Each lender has a bounded queue of its own and the lenders are served in turn (<see cref="LenderQueues"/>):
/// when storage falls behind, a lender's senders wait (backpressure) instead of growing memory, and one lender's
/// backlog does not hold back another lender's acknowledgements.
/// Where this process is the store's only writer (the embedded store), scoring and writing run as two stages: the
/// next batch is scored against the committed store plus what is in flight (<see cref="InFlight"/>) while the
/// previous one is written. If a commit fails, that batch and every batch scored after it fail, so their senders
/// resend them (resends are idempotent), and scoring starts again from the store.
/// </summary>
internal sealed class IngestPipeline(
    IEventStore store,
    EventProcessor processor,
    HistoryCache histories,
    IncidentHub incidents,
    IOptions<ComplianceOptions> options,
    ILogger<IngestPipeline> logger,
    Infrastructure.WriteHealth writeHealth,
    Telemetry.ComplianceMetrics metrics) : BackgroundService
{
    // Requests, not events, are queued: a request of the usual 100 to 1,000 events costs one queue slot and one
    // completion. The bound is in requests of about a hundred events, per lender; lenders are served in turn.
    private readonly LenderQueues _queue = new(Math.Max(4, options.Value.Ingest.QueueCapacity / 100));

    private readonly InFlight _inFlight = new();
    // A failed commit and a scored batch going in flight exclude each other (see ScoreAsync and WriteAsync).
    private readonly Lock _failing = new();
    private long _generation;
    private ScoredBatch? _lastScored;

    /// <summary>A batch scored and waiting for its commit.</summary>
    private sealed record ScoredBatch(List<PendingBatch> Requests, BatchResult Result, IReadOnlyList<Func<IIngestSession, Task>> Plan, Contribution Contribution, long Generation)
    {
        /// <summary>When scoring ended (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
        public long Scored { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

        /// <summary>Completed once the writer is done with the batch, committed or not.</summary>
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Whether scoring and writing overlap: by default where the history cache is on (a single writing process).</summary>
    public bool Pipelined { get; } = options.Value.Ingest.Pipeline ?? histories.Enabled;

    public ValueTask EnqueueAsync(PendingBatch pending, CancellationToken ct) => _queue.EnqueueAsync(pending.LenderId, pending, ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var max = options.Value.Ingest.MaxBatch;
        metrics.ObserveQueue(() => _queue.Count);
        var scored = Channel.CreateBounded<ScoredBatch>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var writer = Pipelined ? Task.Run(() => WriteAsync(scored.Reader, stoppingToken), CancellationToken.None) : Task.CompletedTask;
        try
        {
            while (true)
            {
                await _queue.WaitToReadAsync(stoppingToken);
                var requests = new List<PendingBatch>();
                var events = new List<PendingEvent>(max);
                while (events.Count < max && _queue.TryRead(out var pending))
                {
                    requests.Add(pending);
                    events.AddRange(pending.Events);
                }

                // The oldest request waited longest: its wait is the queue's share of the batch's slowest acknowledgement.
                if (requests.Count > 0)
                {
                    metrics.Stage("queued", requests.Min(r => r.Queued));
                }

                if (!Pipelined)
                {
                    await CommitAsync(requests, events, stoppingToken);
                }
                else if (await ScoreAsync(requests, events, stoppingToken) is { } batch)
                {
                    await scored.Writer.WriteAsync(batch, stoppingToken);
                }
            }
        }
        finally
        {
            scored.Writer.TryComplete();
            await writer;
        }
    }

    /// <summary>Scores and stores a batch in one transaction (several writing processes: SQL Server).</summary>
    private async Task CommitAsync(List<PendingBatch> requests, List<PendingEvent> events, CancellationToken ct)
    {
        BatchResult? result = null;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await store.RunIngestAsync(async session => result = await processor.ProcessAsync(session, events, ct), ct);
            metrics.Committed(events.Count, started);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            metrics.CommitFailed(started);
            processor.AfterFailure();
            Fail(requests, e);
            return;
        }

        Complete(requests, result!);
    }

    /// <summary>The first stage: scores a batch against the committed store and what is in flight, planning its writes.</summary>
    private async Task<ScoredBatch?> ScoreAsync(List<PendingBatch> requests, List<PendingEvent> events, CancellationToken ct)
    {
        var generation = Interlocked.Read(ref _generation);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            PlannedSession? planned = null;
            BatchResult? result = null;
            await store.RunIngestReadAsync(async reads =>
            {
                planned = new PlannedSession(reads, _inFlight, DrainAsync);
                result = await processor.ProcessAsync(planned, events, ct, _inFlight.Accounts());
            }, ct);
            foreach (var (key, account) in result!.ChangedAccounts)
            {
                planned!.Contribution.Accounts[key] = account;
            }

            lock (_failing)
            {
                if (generation != Interlocked.Read(ref _generation))
                {
                    // A commit failed while this batch was scored, on that batch's changes: its senders resend it. What
                    // its scoring added to the cached histories goes too.
                    processor.AfterFailure();
                    Fail(requests, new InvalidOperationException("A batch was scored while an earlier one failed to be stored."));
                    return null;
                }

                _inFlight.Add(planned!.Contribution);
                metrics.Stage("scoring", started);
                return _lastScored = new ScoredBatch(requests, result, planned.Plan, planned.Contribution, generation);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Its scoring may have changed cached histories; batches in flight do not depend on it.
            processor.AfterFailure();
            Fail(requests, e);
            return null;
        }
    }

    /// <summary>Waits until every batch scored so far is written (committed or failed).</summary>
    private Task DrainAsync() => _lastScored?.Written.Task ?? Task.CompletedTask;

    /// <summary>The second stage: replays each scored batch's plan in its own group commit.</summary>
    private async Task WriteAsync(ChannelReader<ScoredBatch> batches, CancellationToken ct)
    {
        await foreach (var batch in batches.ReadAllAsync(CancellationToken.None))
        {
            long started = 0;
            try
            {
                if (batch.Generation != Interlocked.Read(ref _generation))
                {
                    // Scored on the changes of a batch whose commit failed: its senders resend it.
                    Fail(batch.Requests, new InvalidOperationException("A batch scored before it failed to be stored, so this one was scored on a state that does not exist."));
                    continue;
                }

                started = metrics.Stage("scored", batch.Scored);
                await store.RunIngestAsync(async session =>
                {
                    foreach (var write in batch.Plan)
                    {
                        await write(session);
                    }
                }, ct);
                metrics.Committed(batch.Requests.Sum(r => r.Events.Count), started);
                Complete(batch.Requests, batch.Result);
            }
            catch (Exception e)
            {
                if (started != 0)
                {
                    metrics.CommitFailed(started);
                }

                // Every batch in flight was scored on this one's changes. Before a batch is scored on the new generation,
                // they all leave flight and the cached histories go; the batches still to be written then fail by their
                // generation, and one being scored meanwhile fails as it would go in flight.
                lock (_failing)
                {
                    processor.AfterFailure();
                    _inFlight.Clear();
                    Interlocked.Increment(ref _generation);
                }

                Fail(batch.Requests, e);
            }
            finally
            {
                // Out of flight only once its outcome is applied (accounts evicted after a commit), so a batch scored
                // meanwhile sees the batch's flags either in flight or in the cache.
                _inFlight.Remove(batch.Contribution);
                batch.Written.TrySetResult();
            }
        }
    }

    private void Complete(List<PendingBatch> requests, BatchResult result)
    {
        writeHealth.Succeeded();
        processor.AfterCommit(result);
        var offset = 0;
        foreach (var pending in requests)
        {
            pending.Done.TrySetResult(result.Acks[offset..(offset + pending.Events.Count)]);
            offset += pending.Events.Count;
        }

        foreach (var incident in result.Incidents)
        {
            incidents.Publish(incident);
        }
    }

    /// <summary>Nothing of the batch was stored: every event fails, so its sender resends it (resends are idempotent).</summary>
    private void Fail(List<PendingBatch> requests, Exception e)
    {
        var count = requests.Sum(r => r.Events.Count);
        if (e is OperationCanceledException)
        {
            logger.LogInformation("A batch of {Count} events was not stored because the service is stopping; its senders resend it.", count);
        }
        else
        {
            writeHealth.Failed();
            logger.LogError(e, "Storing a batch of {Count} events failed; their senders are told to resend.", count);
        }

        foreach (var pending in requests)
        {
            pending.Done.TrySetException(e);
        }
    }
}
