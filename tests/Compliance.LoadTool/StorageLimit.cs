using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Compliance.Api.V1;
using Compliance.Domain.Events;
using Compliance.Storage;
using Domain = Compliance.Domain;

namespace Compliance.LoadTool;

/// <summary>
/// The storage limit: the rows the service writes for the run's events (one event row each, plus an attempt row
/// for every call placed and message sent), inserted through the store's ingest session into a fresh SQLite file,
/// in transactions as large as the service's group commits. Nothing is read or scored.
/// </summary>
internal static class StorageLimit
{
    public const string Lender = "load";
    private const string MaskedMobile = "+1 212*****00";

    public static async Task<RunResult> RunAsync(string directory, Workload workload, int commitSize, CancellationToken ct)
    {
        var store = new SqliteStore(Path.Combine(directory, "compliance.db"));
        await store.MigrateAsync(ct);
        // Stand-ins for the keyed hashes the server stores: 32 hex digits, one per account.
        var accounts = workload.Accounts.ToDictionary(a => a.AccountId,
            a => (Account: a, Hash: Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(a.Phone)))[..32]), StringComparer.Ordinal);
        var receivedAt = DateTimeOffset.UtcNow;
        var rows = workload.Streams.SelectMany(s => s).SelectMany(r => r.Events)
            .Select(e => ToRows(e, accounts[e.AccountId].Account, accounts[e.AccountId].Hash, receivedAt)).ToList();

        var latency = IngestDriver.NewHistogram();
        var started = Stopwatch.GetTimestamp();
        foreach (var chunk in rows.Chunk(commitSize))
        {
            var commitStarted = Stopwatch.GetTimestamp();
            await store.RunIngestAsync(async session =>
            {
                foreach (var (stored, attempt) in chunk)
                {
                    await session.AddEventAsync(stored);
                    if (attempt is not null)
                    {
                        await session.AddAttemptAsync(Lender, stored.EventId, stored.BorrowerId, stored.CallId, attempt);
                    }
                }
            }, ct);
            latency.RecordValue(Stopwatch.GetTimestamp() - commitStarted);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        return new RunResult("storage", rows.Count, elapsed, latency, new AckTally(), rows.Count + rows.Count(r => r.Attempt is not null));
    }

    /// <summary>The event row as the service would store it with no violations, and its attempt when it is a contact.</summary>
    private static (StoredEvent Event, Domain.Rules.Attempt? Attempt) ToRows(Event e, LoadAccount account, string hash, DateTimeOffset receivedAt)
    {
        var (kind, callId, outcome) = e.KindCase switch
        {
            Event.KindOneofCase.CallPlaced => (EventKind.CallPlaced, e.CallPlaced.CallId, Domain.Rules.AttemptOutcome.Pending),
            Event.KindOneofCase.CallEnded => (EventKind.CallEnded, e.CallEnded.CallId, Domain.Rules.AttemptOutcome.NoAnswer),
            _ => (EventKind.MessageSent, "", Domain.Rules.AttemptOutcome.Delivered),
        };
        var channel = (Domain.Registry.Channel)e.Channel;
        var at = e.OccurredAt.ToDateTimeOffset();
        var stored = new StoredEvent(Lender, e.EventId, kind, account.AccountId, account.BorrowerId, Workload.Collector, "", callId, channel,
            Domain.Rules.ContactPurpose.CollectDebt, hash, MaskedMobile, Domain.Rules.DestinationClass.Own, "", outcome, 0, at, receivedAt,
            false, 0, [], null);
        var attempt = kind == EventKind.CallEnded
            ? null
            : new Domain.Rules.Attempt(at, account.AccountId, Workload.Collector, channel, hash, Domain.Rules.DestinationClass.Own, "",
                Domain.Registry.ContactPointUse.Mobile, Domain.Rules.ContactPurpose.CollectDebt, outcome);
        return (stored, attempt);
    }
}
