using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Compliance.Domain.Ledger;
using Compliance.Storage;
using Microsoft.Data.Sqlite;

namespace Compliance.LoadTool;

/// <summary>
/// How long verifying a long ledger takes: writes N chained entries (event-sized payloads) with a signed checkpoint
/// every 10,000 into a fresh SQLite store, then times a plain read of all entries (the baseline) and a full
/// verification (read, re-hash, check links and signatures).
///   dotnet run -c Release --project tests/Compliance.LoadTool -- ledger [entries]
/// </summary>
internal static class LedgerVerifyRun
{
    private const string Lender = "load";
    private const int CheckpointEvery = 10_000;

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
            await WriteAsync(path, store, key, count, ct);
            var written = clock.Elapsed;

            clock.Restart();
            long read = 0;
            await foreach (var _ in store.EntriesAsync(Lender, 1, long.MaxValue, ct))
            {
                read++;
            }

            var readTime = clock.Elapsed;
            clock.Restart();
            var checkpoints = await store.CheckpointsAsync(Lender, ct);
            var result = new LedgerVerifier(key).Verify(LedgerChain.Start(Lender), store.EntriesAsync(Lender, 1, long.MaxValue, ct).ToBlockingEnumerable(ct),
                checkpoints, await store.MaxSeqAsync(Lender, ct));
            var verifyTime = clock.Elapsed;

            Console.WriteLine($"| Ledger of {count:N0} entries          |  Seconds | Entries/s |");
            Console.WriteLine("|----------------------------------|---------:|----------:|");
            Console.WriteLine($"| write (one transaction)          | {written.TotalSeconds,8:0.00} | {count / written.TotalSeconds,9:N0} |");
            Console.WriteLine($"| read all entries (baseline)      | {readTime.TotalSeconds,8:0.00} | {read / readTime.TotalSeconds,9:N0} |");
            Console.WriteLine($"| verify (read + hash + signatures)| {verifyTime.TotalSeconds,8:0.00} | {result.EntriesChecked / verifyTime.TotalSeconds,9:N0} |");
            Console.WriteLine($"verify / read: {verifyTime / readTime:0.00}x; valid: {result.Valid}; {result.EntriesChecked:N0} entries, {result.CheckpointsChecked:N0} checkpoints checked.");
            return result.Valid && result.EntriesChecked == count ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            temp.Delete(recursive: true);
        }
    }

    private static async Task WriteAsync(string path, SqliteStore store, ECDsa key, int count, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = """
            INSERT INTO ledger (lender_id, seq, kind, ref_id, account_id, recorded_at, payload, prev_hash, hash)
            VALUES ($lender, $seq, $kind, $ref, $account, $at, $payload, $prev, $hash)
            """;
        foreach (var name in new[] { "$lender", "$seq", "$kind", "$ref", "$account", "$at", "$payload", "$prev", "$hash" })
        {
            insert.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        var head = LedgerChain.Start(Lender);
        var start = DateTimeOffset.UtcNow.AddDays(-30);
        var checkpoints = new List<Checkpoint>();
        for (var i = 1; i <= count; i++)
        {
            var payload = JsonSerializer.Serialize(new
            {
                eventId = $"e{i}",
                accountId = $"acc-{i % 10_000}",
                collectorId = "collector-1",
                channel = 2,
                destinationMasked = "+1 212*****34",
                destinationHash = "9f2c6a0d4b1e8f7a3c5d2e1f0a9b8c7d",
                occurredAt = start.AddSeconds(i),
                riskScore = 0,
                violations = Array.Empty<object>(),
            });
            var entry = LedgerChain.Next(head, Lender, LedgerKind.Event, $"e{i}", $"acc-{i % 10_000}", start.AddSeconds(i), payload);
            insert.Parameters[0].Value = Lender;
            insert.Parameters[1].Value = entry.Seq;
            insert.Parameters[2].Value = (int)entry.Kind;
            insert.Parameters[3].Value = entry.RefId;
            insert.Parameters[4].Value = entry.AccountId;
            insert.Parameters[5].Value = entry.RecordedAt.ToUnixTimeMilliseconds();
            insert.Parameters[6].Value = entry.Payload;
            insert.Parameters[7].Value = Convert.ToHexStringLower(entry.PrevHash);
            insert.Parameters[8].Value = Convert.ToHexStringLower(entry.Hash);
            insert.ExecuteNonQuery();
            head = new LedgerHead(entry.Seq, entry.Hash);
            if (i % CheckpointEvery == 0 || i == count)
            {
                checkpoints.Add(CheckpointSignature.Sign(key, Lender, entry.Seq, entry.Hash, start.AddSeconds(i), anchor: false));
            }
        }

        await tx.CommitAsync(ct);
        foreach (var checkpoint in checkpoints)
        {
            await store.AddCheckpointAsync(checkpoint, ct);
        }
    }
}
