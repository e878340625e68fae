namespace Compliance.Server.Ingest;

/// <summary>
/// The requests waiting for a group commit, one queue per lender and within it one per stream, served in turn: each
/// round takes one request from every lender that has one waiting, in the order they became ready, and a lender's
/// turn goes to its streams in turn. So one lender's backlog delays another lender's request by at most one request of
/// every other lender (each at most MaxEventsPerRequest events) plus the batches already scored, never by the backlog
/// itself; and one stream's backlog holds back another stream of the same lender by at most one request of each of
/// the lender's busy streams per round. Each lender's queue is bounded on its own: a lender whose queue is full waits
/// (backpressure) while the others go on.
/// </summary>
internal sealed class LenderQueues(int requestsPerLender)
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    // Lenders with requests waiting, in serving order; each appears at most once.
    private readonly Queue<Lane> _ready = new();
    // How many requests wait in all queues: the single reader waits on it.
    private readonly SemaphoreSlim _waiting = new(0);

    private sealed class Lane(int capacity)
    {
        /// <summary>The queue of each stream with requests waiting (a stream's queue goes once it is empty).</summary>
        public Dictionary<object, StreamQueue> Streams { get; } = new(ReferenceEqualityComparer.Instance);

        /// <summary>The streams with requests waiting, in serving order; each appears at most once.</summary>
        public Queue<StreamQueue> Ready { get; } = new();

        public SemaphoreSlim Room { get; } = new(capacity, capacity);

        public bool Queued { get; set; }
    }

    private sealed class StreamQueue(object source) : Queue<PendingBatch>
    {
        public object Source { get; } = source;
    }

    /// <summary>How many requests wait, over all lenders (the queue-depth metric).</summary>
    public int Count => _waiting.CurrentCount;

    /// <summary>Queues a lender's request, waiting while that lender's own queue is full.</summary>
    public async ValueTask EnqueueAsync(string lenderId, PendingBatch batch, CancellationToken ct)
    {
        Lane lane;
        lock (_sync)
        {
            if (!_lanes.TryGetValue(lenderId, out lane!))
            {
                _lanes[lenderId] = lane = new Lane(requestsPerLender);
            }
        }

        await lane.Room.WaitAsync(ct);
        lock (_sync)
        {
            if (!lane.Streams.TryGetValue(batch.Source, out var stream))
            {
                lane.Streams[batch.Source] = stream = new StreamQueue(batch.Source);
                lane.Ready.Enqueue(stream);
            }

            stream.Enqueue(batch);
            if (!lane.Queued)
            {
                lane.Queued = true;
                _ready.Enqueue(lane);
            }
        }

        _waiting.Release();
    }

    /// <summary>Waits until a request waits (single reader).</summary>
    public async ValueTask WaitToReadAsync(CancellationToken ct)
    {
        await _waiting.WaitAsync(ct);
        _waiting.Release();
    }

    /// <summary>The next request in turn, if any waits.</summary>
    public bool TryRead(out PendingBatch batch)
    {
        if (!_waiting.Wait(0))
        {
            batch = null!;
            return false;
        }

        Lane lane;
        lock (_sync)
        {
            lane = _ready.Dequeue();
            var stream = lane.Ready.Dequeue();
            batch = stream.Dequeue();
            if (stream.Count > 0)
            {
                // To the back: every other stream of the lender with requests waiting is served once before this one again.
                lane.Ready.Enqueue(stream);
            }
            else
            {
                lane.Streams.Remove(stream.Source);
            }

            if (lane.Ready.Count > 0)
            {
                // To the back: every other ready lender is served once before this one again.
                _ready.Enqueue(lane);
            }
            else
            {
                lane.Queued = false;
            }
        }

        lane.Room.Release();
        return true;
    }
}
