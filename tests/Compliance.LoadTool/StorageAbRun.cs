using System.Diagnostics;
using System.Globalization;
using Compliance.Domain.Events;
using Compliance.Storage;
using HdrHistogram;
using Microsoft.Data.Sqlite;

namespace Compliance.LoadTool;

/// <summary>
/// The A/B of the embedded store's mechanisms for speed (<see cref="SqliteTuning"/>): the dense workload's rows, made
/// once, inserted into a fresh SQLite file for each variant (all on, then each mechanism off alone) in group commits of
/// 2,000, each first asking which of its event ids are stored already, as the service's ingest does: in a read session
/// just before the commit, as the embedded store's scoring stage does, or with --check-in-writer inside the write
/// transaction (as on SQL Server, where the commit scores its batch). The variants run interleaved, round after
/// round, so drift of a busy machine shows as a difference between rounds; each is read as a ratio to "all on" of its
/// own round. A short unmeasured run of every variant goes first.
///   dotnet run -c Release --project tests/Compliance.LoadTool -- storage-ab [events] [rounds] [--check-in-writer]
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
        ("row writer off", new SqliteTuning(RowWriter: false)),
        ("checkpoint control off", new SqliteTuning(CheckpointControl: false)),
    ];

    private sealed record Result(int Round, string Variant, int Events, TimeSpan Elapsed, TimeSpan Processor, LongHistogram Commits, long LargestLog, long FileSize,
        int FoundAgain)
    {
        public double EventsPerSecond => Events / Elapsed.TotalSeconds;
    }

    /// <param name="checkInWriter">Whether the ids are checked in the write transaction (the ingest's way on SQL Server)
    /// rather than in a read session just before it (the embedded store's scoring stage).</param>
    public static async Task<int> RunAsync(int count, int rounds, bool checkInWriter, CancellationToken ct)
    {
        var accounts = Workload.CreateAccounts(10_000);
        var rows = StorageLimit.Rows(Workload.Create(accounts, LoadOptions.Parse([]) with { Events = count }, DateTimeOffset.UtcNow));
        Console.WriteLine($"storage-ab: {rows.Count:N0} events of the dense workload ({accounts.Count:N0} accounts), group commits of {Commit:N0}, {rounds} rounds of {Variants.Length} variants, ids checked {(checkInWriter ? "in the write transaction" : "in a read session before it")}");
        var temp = Directory.CreateTempSubdirectory("compliance-storage-ab-");
        var results = new List<Result>();
        try
        {
            // Unmeasured: every variant's code runs once before the first is timed.
            var warmup = rows.Take(Math.Min(rows.Count, 20_000)).ToList();
            foreach (var (name, tuning) in Variants)
            {
                await RunOneAsync(Path.Combine(temp.FullName, $"warmup-{name}.db"), 0, name, tuning, warmup, checkInWriter, ct);
            }

            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (name, tuning) in Variants)
                {
                    var result = await RunOneAsync(Path.Combine(temp.FullName, $"{round}-{results.Count}.db"), round, name, tuning, rows, checkInWriter, ct);
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

    private static async Task<Result> RunOneAsync(string path, int round, string name, SqliteTuning tuning, List<StoredEvent> rows, bool checkInWriter,
        CancellationToken ct)
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
            // As the ingest does, the batch's ids are checked against the stored ones before its rows go in: on the
            // embedded store in the scoring stage's read session (a pooled connection), or in the write transaction.
            var ids = chunk.Select(e => e.EventId).ToList();
            if (!checkInWriter)
            {
                await store.RunIngestReadAsync(async reads => NoneStored(await reads.ExistingEventsAsync(StorageLimit.Lender, ids)), ct);
            }

            var commitStarted = Stopwatch.GetTimestamp();
            await store.RunIngestAsync(async session =>
            {
                if (checkInWriter)
                {
                    NoneStored(await session.ExistingEventsAsync(StorageLimit.Lender, ids));
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

    private static void NoneStored(IReadOnlyDictionary<string, StoredEvent> existing)
    {
        if (existing.Count > 0)
        {
            throw new InvalidOperationException($"{existing.Count} new events were found stored already.");
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
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

        // A busy machine makes single runs drift: each variant's ratios to all on of the same round, by their median.
        w.WriteLine();
        w.WriteLine($"| {"Variant",-23} | {"Events/s vs all on: median (each round)",-44} | {"CPU us/event: median",20} |");
        w.WriteLine($"|{new string('-', 25)}|{new string('-', 46)}|{new string('-', 21)}:|");
        foreach (var (name, _) in Variants)
        {
            var ratios = results.Where(r => r.Variant == name)
                .Select(r => r.EventsPerSecond / results.First(b => b.Round == r.Round && b.Variant == Variants[0].Name).EventsPerSecond).ToList();
            var each = string.Join(" ", ratios.Select(x => x.ToString("0.00", CultureInfo.InvariantCulture)));
            var cpu = Median(results.Where(r => r.Variant == name).Select(r => r.Processor.TotalMicroseconds / r.Events).ToList());
            w.WriteLine($"| {name,-23} | {$"{Median(ratios).ToString("0.00", CultureInfo.InvariantCulture)} ({each})",-44} | {cpu.ToString("0.0", CultureInfo.InvariantCulture),20} |");
        }
    }
}
