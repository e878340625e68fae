using System.Diagnostics;
using System.Globalization;
using Compliance.Domain.Events;
using Compliance.Storage;
using HdrHistogram;
using Microsoft.Data.Sqlite;

namespace Compliance.LoadTool;

/// <summary>
/// The A/B of the embedded store's mechanisms for speed (<see cref="SqliteTuning"/>): the dense workload's rows, made
/// once, inserted into a fresh SQLite file for each variant (all on, then each mechanism off alone; the direct native
/// calls both as a whole, against Microsoft.Data.Sqlite commands, and as their function pointers alone) in group commits of
/// 2,000, each first asking the ingest session which of its event ids are stored already, as the service's ingest
/// does. The variants run interleaved, round after round, so drift of a busy machine shows as a difference between
/// rounds; each is read as a ratio to "all on" of its own round. A short unmeasured run of every variant goes first.
///   dotnet run -c Release --project tests/Compliance.LoadTool -- storage-ab [events] [rounds]
/// </summary>
internal static class StorageAbRun
{
    private const int Commit = 2_000;
    private const int Resent = 2_000;

    private static readonly (string Name, SqliteTuning Tuning)[] Variants =
    [
        ("all on", SqliteTuning.AllOn),
        ("key merge off", new SqliteTuning(KeyMerge: false)),
        ("Bloom filter off", new SqliteTuning(KeyFilter: false)),
        ("direct native calls off", new SqliteTuning(DirectCalls: false)),
        ("function pointers off", new SqliteTuning(FunctionPointers: false)),
        ("checkpoint control off", new SqliteTuning(CheckpointControl: false)),
    ];

    private sealed record Result(int Round, string Variant, int Events, TimeSpan Elapsed, TimeSpan Processor, LongHistogram Commits, long LargestLog, long FileSize,
        int FoundAgain)
    {
        public double EventsPerSecond => Events / Elapsed.TotalSeconds;
    }

    public static async Task<int> RunAsync(int count, int rounds, CancellationToken ct)
    {
        var accounts = Workload.CreateAccounts(10_000);
        var rows = StorageLimit.Rows(Workload.Create(accounts, LoadOptions.Parse([]) with { Events = count }, DateTimeOffset.UtcNow));
        Console.WriteLine($"storage-ab: {rows.Count:N0} events of the dense workload ({accounts.Count:N0} accounts), group commits of {Commit:N0}, {rounds} rounds of {Variants.Length} variants");
        var temp = Directory.CreateTempSubdirectory("compliance-storage-ab-");
        var results = new List<Result>();
        try
        {
            // Unmeasured: every variant's code runs once before the first is timed.
            var warmup = rows.Take(Math.Min(rows.Count, 20_000)).ToList();
            foreach (var (name, tuning) in Variants)
            {
                await RunOneAsync(Path.Combine(temp.FullName, $"warmup-{name}.db"), 0, name, tuning, warmup, ct);
            }

            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (name, tuning) in Variants)
                {
                    var result = await RunOneAsync(Path.Combine(temp.FullName, $"{round}-{results.Count}.db"), round, name, tuning, rows, ct);
                    results.Add(result);
                    Console.WriteLine($"  round {round}, {name}: {result.EventsPerSecond:N0} events/s, {Us(result)} us CPU/event, resent ids found {result.FoundAgain:N0} of {Math.Min(Resent, rows.Count):N0}");
                }
            }
        }
        finally
        {
            temp.Delete(recursive: true);
        }

        Print(results);
        return results.All(r => r.FoundAgain == Math.Min(Resent, rows.Count)) ? 0 : 1;
    }

    private static async Task<Result> RunOneAsync(string path, int round, string name, SqliteTuning tuning, List<StoredEvent> rows, CancellationToken ct)
    {
        var store = new SqliteStore(path, tuning);
        await store.MigrateAsync(ct);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var commits = IngestDriver.NewHistogram();
        var largestLog = 0L;
        var processor = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        foreach (var chunk in rows.Chunk(Commit))
        {
            var commitStarted = Stopwatch.GetTimestamp();
            await store.RunIngestAsync(async session =>
            {
                // As the ingest does: the batch's ids are checked against the stored ones before its rows go in.
                var existing = await session.ExistingEventsAsync(StorageLimit.Lender, chunk.Select(e => e.EventId).ToList());
                if (existing.Count > 0)
                {
                    throw new InvalidOperationException($"{existing.Count} new events were found stored already.");
                }

                await session.AddEventsAsync(chunk);
            }, ct);
            commits.RecordValue(Stopwatch.GetTimestamp() - commitStarted);
            largestLog = Math.Max(largestLog, SizeOf(path + "-wal"));
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var used = Process.GetCurrentProcess().TotalProcessorTime - processor;

        // Unmeasured: ids spread over the whole run, resent, are found stored.
        var resent = Enumerable.Range(0, Math.Min(Resent, rows.Count)).Select(i => rows[(int)((long)i * rows.Count / Math.Min(Resent, rows.Count))].EventId).ToList();
        var found = 0;
        await store.RunIngestReadAsync(async session => found = (await session.ExistingEventsAsync(StorageLimit.Lender, resent)).Count, ct);

        await store.DisposeAsync();
        // The pool's connections close: the last one copies the log into the file and removes it.
        SqliteConnection.ClearAllPools();
        return new Result(round, name, rows.Count, elapsed, used, commits, largestLog, SizeOf(path) + SizeOf(path + "-wal"), found);
    }

    private static long SizeOf(string file) => File.Exists(file) ? new FileInfo(file).Length : 0;

    private static string Us(Result r) => (r.Processor.TotalMicroseconds / r.Events).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Ms(LongHistogram h, double percentile) => IngestDriver.Milliseconds(h.GetValueAtPercentile(percentile)).ToString("0.0", CultureInfo.InvariantCulture);

    private static void Print(List<Result> results)
    {
        var w = Console.Out;
        w.WriteLine();
        w.WriteLine($"| Round | {"Variant",-23} | {"Events/s",9} | {"vs all on",9} | {"CPU us/event",12} | {"Commit p50 ms",13} | {"Commit p99 ms",13} | {"Largest WAL MB",14} | {"DB MB",7} |");
        w.WriteLine($"|------:|{new string('-', 25)}|{new string('-', 10)}:|{new string('-', 10)}:|{new string('-', 13)}:|{new string('-', 14)}:|{new string('-', 14)}:|{new string('-', 15)}:|{new string('-', 8)}:|");
        foreach (var r in results)
        {
            var baseline = results.First(b => b.Round == r.Round && b.Variant == Variants[0].Name);
            var ratio = (r.EventsPerSecond / baseline.EventsPerSecond).ToString("0.00", CultureInfo.InvariantCulture);
            w.WriteLine($"| {r.Round,5} | {r.Variant,-23} | {r.EventsPerSecond,9:N0} | {ratio,9} | {Us(r),12} | {Ms(r.Commits, 50),13} | {Ms(r.Commits, 99),13} | {Mb(r.LargestLog),14} | {Mb(r.FileSize),7} |");
        }
    }
}
