using System.Diagnostics;
using Compliance.Api.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HdrHistogram;

namespace Compliance.LoadTool;

/// <summary>
/// The gate's latency as a dialer sees it over loopback: sequential Authorize calls (each decided, recorded and, when
/// allowed, reserved) against the real server, next to the baseline of a health check round trip on the same channel,
/// so the difference is the service's own time. Then the throughput of 8 concurrent callers.
///   dotnet run -c Release --project tests/Compliance.LoadTool -- gate [calls]
/// </summary>
internal static class GateLatencyRun
{
    private const int Accounts = 2_000;
    private const int Concurrency = 8;

    public static async Task<int> RunAsync(int calls, CancellationToken ct)
    {
        var temp = Directory.CreateTempSubdirectory("compliance-gate-");
        try
        {
            await using var server = ServerUnderTest.Start(Path.Combine(temp.FullName, "server"));
            var key = await server.WaitForCollectionKeyAsync(TimeSpan.FromSeconds(60), ct);
            var headers = new Metadata { { "authorization", $"Bearer {key}" } };
            using var channel = GrpcChannel.ForAddress(server.Endpoint);
            var registry = new RegistryService.RegistryServiceClient(channel);
            var now = DateTimeOffset.UtcNow;
            var accounts = Workload.GateAccounts(Workload.CreateAccounts(Accounts), now);
            var regions = string.Join(", ", accounts.Select(a => a.Region).Distinct());
            Console.WriteLine(accounts.Any(a => Workload.InDaytime(a, now))
                ? $"Asking about accounts in {regions} (where it is daytime now, US first)."
                : $"Asking about accounts in {regions}: it is night in every region, so every decision is a deny (still decided, recorded and timed).");
            await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
                async (a, token) => await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = a.ToProto() }, headers, cancellationToken: token));

            var gate = new ContactGateService.ContactGateServiceClient(channel);
            var health = new Health.HealthClient(channel);
            AuthorizeRequest Request(int i) => Workload.AuthorizeCall(accounts[i % accounts.Count]);

            for (var i = 0; i < 300; i++)
            {
                await gate.AuthorizeAsync(Request(i), headers, cancellationToken: ct);
                await health.CheckAsync(new HealthCheckRequest(), cancellationToken: ct);
            }

            var authorize = IngestDriver.NewHistogram();
            var baseline = IngestDriver.NewHistogram();
            var verdicts = new Dictionary<Verdict, int>();
            for (var i = 0; i < calls; i++)
            {
                await IngestDriver.TimedAsync(baseline, () => health.CheckAsync(new HealthCheckRequest(), cancellationToken: ct).ResponseAsync);
                var decision = (await IngestDriver.TimedAsync(authorize, () => gate.AuthorizeAsync(Request(i + 300), headers, cancellationToken: ct).ResponseAsync)).Decision;
                verdicts[decision.Verdict] = verdicts.GetValueOrDefault(decision.Verdict) + 1;
            }

            var concurrent = Stopwatch.StartNew();
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) <= calls)
                {
                    await gate.AuthorizeAsync(Request(i + 300 + calls), headers, cancellationToken: ct);
                }
            }));
            var perSecond = calls / concurrent.Elapsed.TotalSeconds;

            Console.WriteLine($"| Gate over loopback ({calls:N0} sequential calls) |  p50 ms |  p90 ms |  p99 ms |");
            Console.WriteLine("|------------------------------------------------|--------:|--------:|--------:|");
            Row("health check (baseline)", baseline);
            Row("Authorize (decide, record, reserve)", authorize);
            Console.WriteLine($"Authorize p50 / health p50: {Pct(authorize, 50) / Pct(baseline, 50):0.0}x; the service's own time at p50: {Pct(authorize, 50) - Pct(baseline, 50):0.000} ms.");
            Console.WriteLine($"Verdicts: {string.Join(", ", verdicts.Select(v => $"{v.Key} {v.Value}"))}. {Concurrency} concurrent callers: {perSecond:N0} decisions/s.");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            temp.Delete(recursive: true);
        }
    }

    private static double Pct(LongHistogram h, double p) => IngestDriver.Milliseconds(h.GetValueAtPercentile(p));

    private static void Row(string name, LongHistogram h) =>
        Console.WriteLine($"| {name,-46} | {Pct(h, 50),7:0.000} | {Pct(h, 90),7:0.000} | {Pct(h, 99),7:0.000} |");
}
