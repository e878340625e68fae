using System.Diagnostics;
using System.Security.Cryptography;
using Compliance.Domain.Events;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;
using Compliance.Storage;
using Microsoft.Data.Sqlite;

namespace Compliance.LoadTool;

/// <summary>
/// How long verifying the record of many events takes: stores N events through the ingest session in group commits
/// of 2,000 (so the ledger holds one batch entry per commit, each the Merkle root of its events) into a fresh SQLite
/// store, signs the head, then times a plain read of every event row (the baseline) and a full verification (the
/// chain's links, hashes and signature, and every batch recomputed from the event log).
///   dotnet run -c Release --project tests/Compliance.LoadTool -- ledger [events]
/// </summary>
internal static class LedgerVerifyRun
{
    private const string Lender = "load";
    private const int Commit = 2_000;

    public static async Task<int> RunAsync(int count, CancellationToken ct)
    {
        var temp = Directory.CreateTempSubdirectory("compliance-ledger-");
        try
        {
            var path = Path.Combine(temp.FullName, "ledger.db");
            var store = new SqliteStore(path);
            await store.MigrateAsync(ct);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

            var clock = Stopwatch.StartNew();
            var start = DateTimeOffset.UtcNow.AddDays(-30);
            foreach (var chunk in Enumerable.Range(1, count).Chunk(Commit))
            {
                await store.RunIngestAsync(session => session.AddEventsAsync(chunk.Select(i => Event(i, start)).ToList()), ct);
            }

            var head = await store.HeadAsync(Lender, ct) ?? throw new InvalidOperationException("Nothing was recorded.");
            await store.AddCheckpointAsync(CheckpointSignature.Sign(key, Lender, head.Seq, head.Hash, DateTimeOffset.UtcNow, anchor: false), ct);
            var written = clock.Elapsed;

            clock.Restart();
            var read = await ReadAllAsync(path, ct);
            var readTime = clock.Elapsed;

            clock.Restart();
            var result = new LedgerVerifier(key).Verify(LedgerChain.Start(Lender), store.EntriesAsync(Lender, 1, long.MaxValue, ct).ToBlockingEnumerable(ct),
                await store.CheckpointsAsync(Lender, ct), await store.MaxSeqAsync(Lender, ct), entry => EventBatchCheck.Problem(store, entry, ct));
            var verifyTime = clock.Elapsed;

            Console.WriteLine($"| Record of {count:N0} events             |  Seconds |  Events/s |");
            Console.WriteLine("|-------------------------------------|---------:|----------:|");
            Console.WriteLine($"| write ({Commit:N0} per group commit)     | {written.TotalSeconds,8:0.00} | {count / written.TotalSeconds,9:N0} |");
            Console.WriteLine($"| read every event row (baseline)     | {readTime.TotalSeconds,8:0.00} | {read / readTime.TotalSeconds,9:N0} |");
            Console.WriteLine($"| verify (chain, signature, batches)  | {verifyTime.TotalSeconds,8:0.00} | {count / verifyTime.TotalSeconds,9:N0} |");
            Console.WriteLine($"verify / read: {verifyTime / readTime:0.00}x; valid: {result.Valid}; {result.EntriesChecked:N0} ledger entries (event batches) and {result.CheckpointsChecked:N0} checkpoint checked.");
            return result.Valid && read == count ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            temp.Delete(recursive: true);
        }
    }

    private static StoredEvent Event(int i, DateTimeOffset start) => new(Lender, $"e{i}", EventKind.MessageSent, $"acc-{i % 10_000}", $"b-{i % 10_000}",
        "collector-1", "", "", Channel.Sms, ContactPurpose.CollectDebt, "9f2c6a0d4b1e8f7a3c5d2e1f0a9b8c7d", "+1 212*****34", DestinationClass.Own, "",
        AttemptOutcome.Delivered, 0, start.AddSeconds(i), start.AddSeconds(i), false, 0, [], null, ContactPointUse.Mobile, EventCounting.Attempt);

    /// <summary>Every column of every event row, as a reader of the record would fetch them.</summary>
    private static async Task<long> ReadAllAsync(string path, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly");
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM event_log WHERE lender_id = $lender ORDER BY seq";
        command.Parameters.AddWithValue("$lender", Lender);
        await using var reader = await command.ExecuteReaderAsync(ct);
        long rows = 0;
        var values = new object[reader.FieldCount];
        while (await reader.ReadAsync(ct))
        {
            reader.GetValues(values);
            rows++;
        }

        return rows;
    }
}
