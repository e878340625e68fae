using System.Diagnostics;
using Compliance.Domain.Events;
using Compliance.Domain.Registry;
using Compliance.Domain.Reports;
using Compliance.Domain.Rules;
using Compliance.Server.Configuration;
using Compliance.Server.Gate;
using Compliance.Server.Reports;
using Compliance.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Compliance.LoadTool;

/// <summary>
/// How long a monthly report over many stored events takes, and how much memory it holds: stores N events of one
/// month (one in 50 with a violation, across 200 collectors and 10,000 accounts) through the ingest session into a
/// fresh SQLite store, then times a plain SELECT COUNT(*) over the same events (the baseline) and the report's build
/// (the server's own builder: the store sums the events per collector and day and counts those with violations per
/// collector and list of violations), sampling the managed heap and the resident set meanwhile, and prints each of the
/// build's reads with its calls, rows, wall and processor time.
///   dotnet run -c Release --project tests/Compliance.LoadTool -- report [events] [--db file] [--indexes-before-0018]
/// With --db the store is kept in that file and, when it already holds the events of an earlier run with the same
/// count, reused without seeding again (the schema is brought up to date first), so changes to the build can be
/// compared on the same data.
/// </summary>
internal static class ReportBuildRun
{
    private const string Lender = "load";
    private const int Commit = 5_000;

    /// <summary>The event indexes as they were before schema 0018 (none of the events with violations).</summary>
    private const string IndexesBefore0018 = "DROP INDEX IF EXISTS ix_event_log_violations";

    public static async Task<int> RunAsync(int count, string? kept, bool indexesBefore0018, CancellationToken ct)
    {
        var temp = kept is null ? Directory.CreateTempSubdirectory("compliance-report-") : null;
        try
        {
            var path = kept ?? Path.Combine(temp!.FullName, "report.db");
            var store = new SqliteStore(path);
            var migrating = Stopwatch.StartNew();
            var migrated = await store.MigrateAsync(ct);
            if (migrated.Applied.Count > 0)
            {
                Console.Error.WriteLine($"schema: applied {string.Join(", ", migrated.Applied)} in {migrating.Elapsed.TotalSeconds:0.00} s");
            }

            var month = ReportPeriod.Of(ReportKind.Monthly, new DateOnly(2026, 11, 1), TimeZoneInfo.Utc);
            var stored = kept is null ? 0 : await CountAsync(path, month, ct);
            if (indexesBefore0018 && stored == 0)
            {
                await using var connection = new SqliteConnection($"Data Source={path}");
                await connection.OpenAsync(ct);
                await using var command = connection.CreateCommand();
                command.CommandText = IndexesBefore0018;
                await command.ExecuteNonQueryAsync(ct);
                Console.Error.WriteLine("indexes: as before schema 0018");
            }

            if (stored != 0 && stored != count)
            {
                Console.Error.WriteLine($"{path} holds {stored:N0} events, not {count:N0}: give another file.");
                return 2;
            }

            var spacing = (month.End - month.Start).Ticks / count;
            var violation = new List<Violation>
            {
                new(new RuleHit("US-REGF.call-frequency", "US-REGF", "12 CFR 1006.14(b)(2)(i)(A)", "8 calls in 7 days", false, Severity.High, null), ""),
            };

            var clock = Stopwatch.StartNew();
            for (var first = 0; stored == 0 && first < count; first += Commit)
            {
                var events = new List<StoredEvent>(Commit);
                for (var i = first; i < Math.Min(count, first + Commit); i++)
                {
                    events.Add(Event(i, month.Start.AddTicks(spacing * i), i % 50 == 0 ? violation : []));
                }

                await store.RunIngestAsync(session => session.AddEventsAsync(events), ct);
                if ((first / Commit) % 200 == 0)
                {
                    Console.Error.Write($"\rstored {first + events.Count:N0} of {count:N0} events ({clock.Elapsed.TotalSeconds:0} s)");
                }
            }

            Console.Error.WriteLine();
            var written = clock.Elapsed;

            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            clock.Restart();
            var counted = await CountAsync(path, month, ct);
            var countTime = clock.Elapsed;
            process.Refresh();
            var countCpu = process.TotalProcessorTime - cpu;

            var options = Options.Create(new ComplianceOptions());
            var timed = new TimedReportStore(store);
            var builder = new ReportBuilder(timed, store, store, new PolicyRegistry(store, NullLogger<PolicyRegistry>.Instance), options);
            var key = ReportIssuer.Key(Lender, month, "");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var baseline = GC.GetTotalMemory(forceFullCollection: true);
            long peak = baseline;
            var rssBefore = Environment.WorkingSet;
            var rssPeak = rssBefore;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, GC.GetTotalMemory(false));
                    rssPeak = Math.Max(rssPeak, Environment.WorkingSet);
                    await Task.Delay(20);
                }
            });
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            process.Refresh();
            cpu = process.TotalProcessorTime;
            clock.Restart();
            var cut = await timed.ReportCutAsync(Lender, ct);
            var document = await builder.BuildAsync(key, month, cut, DateTimeOffset.UtcNow, null, ct);
            var buildTime = clock.Elapsed;
            process.Refresh();
            var buildCpu = process.TotalProcessorTime - cpu;
            await sampling.CancelAsync();
            await sampler;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

            Console.WriteLine($"| Monthly report over {count:N0} events   |  Seconds |  Events/s |");
            Console.WriteLine("|-------------------------------------|---------:|----------:|");
            if (stored == 0)
            {
                Console.WriteLine($"| write ({Commit:N0} per group commit)     | {written.TotalSeconds,8:0.00} | {count / written.TotalSeconds,9:N0} |");
            }

            Console.WriteLine($"| SELECT COUNT(*) (baseline)          | {countTime.TotalSeconds,8:0.00} | {counted / countTime.TotalSeconds,9:N0} |");
            Console.WriteLine($"| build the monthly report            | {buildTime.TotalSeconds,8:0.00} | {document.Totals.Events / buildTime.TotalSeconds,9:N0} |");
            Console.WriteLine();
            Console.WriteLine("| Phase of the build (store reads, the builder's work on their rows included) |  Calls |      Rows |  Seconds | Processor s |");
            Console.WriteLine("|-----------------------------------------------------------------------------|-------:|----------:|---------:|------------:|");
            foreach (var (phase, calls, time, processor, rows) in timed.Phases)
            {
                Console.WriteLine($"| {phase,-75} | {calls,6:N0} | {rows,9:N0} | {time.TotalSeconds,8:0.00} | {processor.TotalSeconds,11:0.00} |");
            }

            Console.WriteLine();
            Console.WriteLine($"processor time (steadier on a shared machine): SELECT COUNT(*) {countCpu.TotalSeconds:0.00} s, the build {buildCpu.TotalSeconds:0.00} s "
                + $"(with the sampler's), {buildCpu / countCpu:0.0}x.");
            Console.WriteLine($"build / count: {buildTime / countTime:0.0}x; peak managed heap during the build {(peak - baseline) / 1048576.0:0.0} MB above the "
                + $"{baseline / 1048576.0:0.0} MB before it ({allocated / 1048576.0:N0} MB allocated in all, collected as it went); process peak working set "
                + $"{Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:N0} MB (writing included); resident set during the build: peak "
                + $"{rssPeak / 1048576.0:N0} MB, {(rssPeak - rssBefore) / 1048576.0:N0} MB above the {rssBefore / 1048576.0:N0} MB before it.");
            Console.WriteLine($"report: {document.Totals.Events:N0} events, {document.Totals.Violations:N0} violations, {document.Collectors!.Count} collectors, "
                + $"{document.FrequencyExceptionsTotal:N0} frequency exceptions ({document.FrequencyExceptions!.Count} listed).");
            return document.Totals.Events == count && counted == count && document.Totals.Violations == (count + 49) / 50 ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            temp?.Delete(recursive: true);
        }
    }

    private static StoredEvent Event(int i, DateTimeOffset at, IReadOnlyList<Violation> violations) => new(Lender, $"e{i}", EventKind.CallPlaced, $"acc-{i % 10_000}",
        $"b-{i % 10_000}", $"collector-{i % 200}", "", $"call-{i}", Channel.VoiceCall, ContactPurpose.CollectDebt, "9f2c6a0d4b1e8f7a3c5d2e1f0a9b8c7d", "+1 212*****34",
        DestinationClass.Own, "", AttemptOutcome.Pending, 0, at, at, false, violations.Count == 0 ? 0 : 35, violations, null, ContactPointUse.Mobile, EventCounting.Attempt);

    private static async Task<long> CountAsync(string path, ReportPeriod month, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly");
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM event_log WHERE lender_id = $lender AND occurred_at >= $from AND occurred_at < $to";
        command.Parameters.AddWithValue("$lender", Lender);
        command.Parameters.AddWithValue("$from", month.Start.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$to", month.End.ToUnixTimeMilliseconds());
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
