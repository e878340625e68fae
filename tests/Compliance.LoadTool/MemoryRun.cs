using System.Diagnostics;
using System.Globalization;
using Compliance.Api.V1;
using Grpc.Core;

namespace Compliance.LoadTool;

/// <summary>
/// What the server holds per account: registers many accounts through the API, then makes some of them active (a few
/// contacts each over the last week on the stream, and one gate decision each), and reads the server's resident set
/// and its live heap (what survives a full collection asked of its runtime) before, between and after, each after a
/// quiet pause. The cost per active account is what the caches keep of a borrower the service is working with (its
/// account, collector, policy and windowed history).
///   dotnet run -c Release --project tests/Compliance.LoadTool -- memory [registered] [active]
/// </summary>
internal static class MemoryRun
{
    private const int ContactsPerActiveAccount = 4;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(int registered, int active, CancellationToken ct)
    {
        active = Math.Min(active, registered);
        var temp = Directory.CreateTempSubdirectory("compliance-memory-");
        try
        {
            var settings = new Dictionary<string, string> { ["COMPLIANCE__INGEST__LATEWINDOW"] = TimeSpan.FromDays(Workload.RealisticDays + 1).ToString("c") };
            await using var server = ServerUnderTest.Start(Path.Combine(temp.FullName, "server"), settings);
            var key = await server.WaitForCollectionKeyAsync(TimeSpan.FromSeconds(60), ct);
            var headers = new Metadata { { "authorization", $"Bearer {key}" } };
            using var channel = GateConcurrencyRun.OpenChannel(server.Endpoint);
            Console.WriteLine($"Server pid {server.ProcessId}; {registered:N0} accounts to register, {active:N0} of them made active ({ContactsPerActiveAccount} contacts and a gate decision each).");

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            await Task.Delay(Settle, ct);
            var atStart = server.ResidentBytes;
            var heapAtStart = await MetricsScrape.ReadAsync(http, server.Metrics, ct);
            var liveAtStart = await Live(server, http, ct);

            var accounts = Workload.CreateAccounts(registered);
            var registry = new RegistryService.RegistryServiceClient(channel);
            var clock = Stopwatch.StartNew();
            var done = 0;
            await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (account, token) =>
            {
                await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = account.ToProto() }, headers, cancellationToken: token);
                if (Interlocked.Increment(ref done) % 100_000 == 0)
                {
                    Console.Error.WriteLine($"registered {done:N0} ({clock.Elapsed.TotalSeconds:0} s, server RSS {server.ResidentBytes / 1048576.0:N0} MB)");
                }
            });
            Console.WriteLine($"Registered {registered:N0} accounts in {clock.Elapsed.TotalSeconds:0} s ({registered / clock.Elapsed.TotalSeconds:N0}/s).");
            await Task.Delay(Settle, ct);
            var afterRegistering = server.ResidentBytes;
            var heapAfterRegistering = await MetricsScrape.ReadAsync(http, server.Metrics, ct);
            var liveAfterRegistering = await Live(server, http, ct);

            // A tenth of the active accounts first, unmeasured: the runtime compiles the ingest's and the gate's code
            // and the pools fill, so what the rest add is what the caches keep per account.
            var warm = Math.Max(1, active / 10);
            var (warmEvents, _) = await ActivateAsync(channel, headers, accounts.Take(warm).ToList(), ct);
            await Task.Delay(Settle, ct);
            var afterWarm = server.ResidentBytes;
            var heapAfterWarm = await MetricsScrape.ReadAsync(http, server.Metrics, ct);
            var liveAfterWarm = await Live(server, http, ct);

            clock.Restart();
            var measured = active - warm;
            var (streamed, failed) = await ActivateAsync(channel, headers, accounts.Skip(warm).Take(measured).ToList(), ct);
            Console.WriteLine($"Made {active:N0} accounts active ({warm:N0} first, unmeasured, then {measured:N0} in {clock.Elapsed.TotalSeconds:0} s): "
                + $"{warmEvents.Acks.Accepted + streamed.Acks.Accepted:N0} of {warmEvents.Events + streamed.Events:N0} events accepted, {active:N0} gate decisions ({failed:N0} failed closed).");
            await Task.Delay(Settle, ct);
            var afterActive = server.ResidentBytes;
            var heapAfterActive = await MetricsScrape.ReadAsync(http, server.Metrics, ct);
            var liveAfterActive = await Live(server, http, ct);

            Console.WriteLine();
            Console.WriteLine("| server | resident MB | per account | heap after GC MB | live heap MB | per account | SQLite MB |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| started, empty | {atStart / 1048576.0:N0} | | {Heap(heapAtStart):N0} | {liveAtStart:N0} | | {Sqlite(heapAtStart):N0} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {registered:N0} accounts registered | {afterRegistering / 1048576.0:N0} | {(afterRegistering - atStart) / (double)registered:N0} bytes | {Heap(heapAfterRegistering):N0} | {liveAfterRegistering:N0} | {PerAccount(liveAtStart, liveAfterRegistering, registered):N0} bytes | {Sqlite(heapAfterRegistering):N0} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {warm:N0} of them active (warm-up) | {afterWarm / 1048576.0:N0} | | {Heap(heapAfterWarm):N0} | {liveAfterWarm:N0} | | {Sqlite(heapAfterWarm):N0} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {active:N0} of them active | {afterActive / 1048576.0:N0} | {(afterActive - afterWarm) / (double)Math.Max(1, measured):N0} bytes per active account | {Heap(heapAfterActive):N0} | {liveAfterActive:N0} | {PerAccount(liveAfterWarm, liveAfterActive, measured):N0} bytes per active account (goal: at most 1,024) | {Sqlite(heapAfterActive):N0} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| peak | {server.PeakResidentBytes / 1048576.0:N0} | | | | | |"));
            Console.WriteLine("(Resident: includes garbage not yet collected and SQLite's page caches, an upper bound. Heap after GC: the managed heap as the runtime's last collection left it; garbage in generations not collected then still counts. Live heap: what survived a full collection the tool asked the server's runtime for through its diagnostics port; the per-account figures are its differences.)");
            return failed == 0 && streamed.Acks.Accepted == streamed.Events && warmEvents.Acks.Accepted == warmEvents.Events ? 0 : 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            temp.Delete(recursive: true);
        }
    }

    private static double Heap(MetricsScrape? scrape) => scrape?.HeapMb ?? double.NaN;

    private static double Sqlite(MetricsScrape? scrape) => scrape?.SqliteMb ?? double.NaN;

    private static double PerAccount(double liveBeforeMb, double liveAfterMb, int accounts) => (liveAfterMb - liveBeforeMb) * 1048576.0 / Math.Max(1, accounts);

    private static Task<double> Live(ServerUnderTest server, HttpClient http, CancellationToken ct) => FullCollection.LiveHeapMbAsync(server.ProcessId, http, server.Metrics, ct);

    /// <summary>A few contacts over the last week for each account on the stream, then one gate decision each.</summary>
    private static async Task<(RunResult Streamed, int FailedClosed)> ActivateAsync(Grpc.Net.Client.GrpcChannel channel, Metadata headers,
        List<LoadAccount> working, CancellationToken ct)
    {
        var options = LoadOptions.Parse([]) with { Events = working.Count * ContactsPerActiveAccount, Realistic = true };
        var workload = Workload.Create(working, options, DateTimeOffset.UtcNow);
        var streamed = await IngestDriver.RunAsync("active", channel, headers, workload.Streams, options.Outstanding, ct);
        var gate = new ContactGateService.ContactGateServiceClient(channel);
        var failed = 0;
        await Parallel.ForEachAsync(working, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (account, token) =>
        {
            var decision = (await gate.AuthorizeAsync(Workload.AuthorizeCall(account), headers, cancellationToken: token)).Decision;
            if (decision.FailedClosed)
            {
                Interlocked.Increment(ref failed);
            }
        });
        return (streamed, failed);
    }
}
