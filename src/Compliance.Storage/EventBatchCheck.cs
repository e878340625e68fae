using System.Text.Json;
using Compliance.Domain.Ledger;

namespace Compliance.Storage;

/// <summary>
/// Checks an event batch entry against the event log: the entry holds the Merkle root of its events, which live in
/// the log, so it is recomputed from there and an event changed, removed or added in the log is found like a changed
/// entry. For <see cref="LedgerVerifier"/>'s contents check.
/// </summary>
public static class EventBatchCheck
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Why the entry's events do not match it, or null when they do (or the entry is no event batch).</summary>
    public static string? Problem(IEventStore store, LedgerEntry entry, CancellationToken ct)
    {
        if (entry.Kind != LedgerKind.EventBatch)
        {
            return null;
        }

        var batch = JsonSerializer.Deserialize<EventBatchPayload>(entry.Payload, Json);
        if (batch is null)
        {
            return "the batch entry has no content";
        }

        // The verifier walks the chain synchronously; each batch is one read of its stretch of the log.
        var (events, root) = store.EventBatchRootAsync(entry.LenderId, batch.FirstSeq, batch.LastSeq, ct).GetAwaiter().GetResult();
        if (events != batch.Events)
        {
            return $"the event log holds {events} events of positions {batch.FirstSeq}-{batch.LastSeq}, but {batch.Events} were recorded: events were removed or added";
        }

        return Convert.ToHexStringLower(root) == batch.Root
            ? null
            : $"the events of positions {batch.FirstSeq}-{batch.LastSeq} no longer match the recorded root: an event was changed after it was recorded";
    }
}
