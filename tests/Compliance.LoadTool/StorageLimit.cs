using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Compliance.Api.V1;
using Compliance.Domain.Events;
using Compliance.Storage;
using Domain = Compliance.Domain;

namespace Compliance.LoadTool;

/// <summary>
/// The storage limit: the rows the service writes for the run's events (one event-log row each, with its keys and
/// its share of the batch's ledger entry), inserted through the store's ingest session into a fresh SQLite file, in
/// transactions as large as the service's group commits. Nothing is read or scored.
/// </summary>
internal static class StorageLimit
{
    public const string Lender = "load";
    private const string MaskedMobile = "+1 212*****00";

    public static async Task<RunResult> RunAsync(string directory, Workload workload, Workload? warmup, int commitSize, CancellationToken ct)
    {
        var store = new SqliteStore(Path.Combine(directory, "compliance.db"));
        await store.MigrateAsync(ct);
        if (warmup is not null)
        {
            // The warm-up rows go in first, unmeasured, as they went to the service.
            await InsertAsync(store, Rows(warmup), commitSize, null, ct);
        }

        // The rows are made before the clock starts: only inserting them is measured.
        var rows = Rows(workload);
        var latency = IngestDriver.NewHistogram();
        var processor = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        await InsertAsync(store, rows, commitSize, latency, ct);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new RunResult("storage", rows.Count, elapsed, latency, new AckTally(), rows.Count)
        {
            Processor = (TimeSpan.Zero, Process.GetCurrentProcess().TotalProcessorTime - processor),
        };
    }

    internal static List<StoredEvent> Rows(Workload workload)
    {
        // Stand-ins for the keyed hashes the server stores: 32 hex digits, one per account.
        var accounts = workload.Accounts.ToDictionary(a => a.AccountId,
            a => (Account: a, Hash: Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(a.Phone)))[..32]), StringComparer.Ordinal);
        var receivedAt = DateTimeOffset.UtcNow;
        return workload.Streams.SelectMany(s => s).SelectMany(r => r.Events)
            .Select(e => ToRows(e, accounts[e.AccountId].Account, accounts[e.AccountId].Hash, receivedAt)).ToList();
    }

    private static async Task InsertAsync(SqliteStore store, List<StoredEvent> rows, int commitSize, HdrHistogram.LongHistogram? latency, CancellationToken ct)
    {
        foreach (var chunk in rows.Chunk(commitSize))
        {
            var commitStarted = Stopwatch.GetTimestamp();
            await store.RunIngestAsync(session => session.AddEventsAsync(chunk), ct);
            latency?.RecordValue(Stopwatch.GetTimestamp() - commitStarted);
        }
    }

    /// <summary>The event row as the service would store it with no violations: a contact counts as an attempt, a call's end as its outcome.</summary>
    private static StoredEvent ToRows(Event e, LoadAccount account, string hash, DateTimeOffset receivedAt)
    {
        var (kind, callId, outcome, counts) = e.KindCase switch
        {
            Event.KindOneofCase.CallPlaced => (EventKind.CallPlaced, e.CallPlaced.CallId, Domain.Rules.AttemptOutcome.Pending, EventCounting.Attempt),
            Event.KindOneofCase.CallEnded => (EventKind.CallEnded, e.CallEnded.CallId, Domain.Rules.AttemptOutcome.NoAnswer, EventCounting.CallOutcome),
            _ => (EventKind.MessageSent, "", Domain.Rules.AttemptOutcome.Delivered, EventCounting.Attempt),
        };
        var channel = (Domain.Registry.Channel)e.Channel;
        return new StoredEvent(Lender, e.EventId, kind, account.AccountId, account.BorrowerId, Workload.Collector, "", callId, channel,
            Domain.Rules.ContactPurpose.CollectDebt, hash, MaskedMobile, Domain.Rules.DestinationClass.Own, "", outcome, 0, e.OccurredAt.ToDateTimeOffset(), receivedAt,
            false, 0, [], null, Domain.Registry.ContactPointUse.Mobile, counts);
    }
}
