using System.Text.Json;

namespace Compliance.Storage;

/// <summary>
/// Events made ready to be appended at known positions of the log: each with its violations as stored (JSON) and its
/// leaf hash (<see cref="EventDigest"/>). Sealing is the part of storing events that needs no database, so the ingest
/// pipeline seals a batch while the one before it is still being written; the write checks that the log still
/// continues at <see cref="FirstSeq"/>.
/// </summary>
public sealed class SealedEvents
{
    private SealedEvents(IReadOnlyList<StoredEvent> events, long firstSeq, string[] violations, byte[][] leaves)
    {
        Events = events;
        FirstSeq = firstSeq;
        Violations = violations;
        Leaves = leaves;
    }

    public IReadOnlyList<StoredEvent> Events { get; }

    /// <summary>The position of the first event; the others follow one by one.</summary>
    public long FirstSeq { get; }

    public long LastSeq => FirstSeq + Events.Count - 1;

    /// <summary>Each event's violations as the log stores them.</summary>
    public string[] Violations { get; }

    public byte[][] Leaves { get; }

    public static SealedEvents Seal(IReadOnlyList<StoredEvent> events, long firstSeq)
    {
        var count = events.Count;
        var violations = new string[count];
        var leaves = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            violations[i] = events[i].Violations.Count == 0 ? "[]" : JsonSerializer.Serialize(events[i].Violations, AdoStore.JsonOptions);
        }

        // The leaf hashes are independent of one another: a large batch spreads them over the cores.
        if (count >= 256)
        {
            Parallel.For(0, count, i => leaves[i] = EventDigest.Leaf(events[i], firstSeq + i, violations[i]));
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                leaves[i] = EventDigest.Leaf(events[i], firstSeq + i, violations[i]);
            }
        }

        return new SealedEvents(events, firstSeq, violations, leaves);
    }
}
