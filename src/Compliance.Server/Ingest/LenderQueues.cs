namespace Compliance.Server.Ingest;

/// <summary>
/// The requests waiting for a group commit, one queue per lender, served in turn: each round takes one request from
/// every lender that has one waiting, in the order they became ready. So one lender's backlog delays another lender's
/// request by at most one request of every other lender (each at most MaxEventsPerRequest events) plus the batches
/// already scored, never by the backlog itself. Each lender's queue is bounded on its own: a lender whose queue is
/// full waits (backpressure) while the others go on.
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
        public Queue<PendingBatch> Requests { get; } = new();
        public SemaphoreSlim Room { get; } = new(capacity, capacity);
        public bool Ready { get; set; }
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
            lane.Requests.Enqueue(batch);
            if (!lane.Ready)
            {
                lane.Ready = true;
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
            batch = lane.Requests.Dequeue();
            if (lane.Requests.Count > 0)
            {
                // To the back: every other ready lender is served once before this one again.
                _ready.Enqueue(lane);
            }
            else
            {
                lane.Ready = false;
            }
        }

        lane.Room.Release();
        return true;
    }
}
