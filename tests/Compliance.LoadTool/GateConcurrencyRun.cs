using System.Diagnostics;
using System.Globalization;
using Compliance.Api.V1;
using Grpc.Core;
using Grpc.Net.Client;
using HdrHistogram;

namespace Compliance.LoadTool;

/// <summary>
/// The gate's throughput and latency under concurrency: 1, 8, 64 and 256 callers, each asking Authorize again as soon
/// as it is answered, against the real server (every call decided, journaled durably and, when allowed, reserved) and
/// against a no-op unary server in this process that answers the same call at once, level by level in the same run.
/// The ratio of the two is the share of the transport's rate the gate keeps.
///   dotnet run -c Release --project tests/Compliance.LoadTool -- gate-concurrency [seconds per level] [accounts asked about]
/// By default every registered account that may be called is asked about in turn, each once or twice in a run on a busy
/// machine: the gate's reads are then cold. Fewer accounts measure the gate on borrowers it has seen (a dialer's list).
/// </summary>
internal static class GateConcurrencyRun
{
    private static readonly int[] Levels = [1, 8, 64, 256];
    private const int Accounts = 6_000;

    public static async Task<int> RunAsync(int seconds, int asked, CancellationToken ct)
    {
        var temp = Directory.CreateTempSubdirectory("compliance-gate-");
        try
        {
            await using var server = ServerUnderTest.Start(Path.Combine(temp.FullName, "server"));
            await using var noOp = await NoOpServer.GateAsync(temp.FullName, ct);
            var key = await server.WaitForCollectionKeyAsync(TimeSpan.FromSeconds(60), ct);
            var headers = new Metadata { { "authorization", $"Bearer {key}" } };
            using var channel = OpenChannel(server.Endpoint);
            using var noOpChannel = OpenChannel(noOp.Endpoint);
            var accounts = await RegisterAsync(channel, headers, Accounts, ct);
            accounts = accounts.Take(asked).ToList();

            var gate = new ContactGateService.ContactGateServiceClient(channel);
            var noOpGate = new ContactGateService.ContactGateServiceClient(noOpChannel);
            var verdicts = new Tally();
            Func<int, Task> real = async i =>
            {
                var decision = (await gate.AuthorizeAsync(Workload.AuthorizeCall(accounts[i % accounts.Count]), headers, cancellationToken: ct)).Decision;
                verdicts.Add(decision);
            };
            Func<int, Task> none = async i => await noOpGate.AuthorizeAsync(Workload.AuthorizeCall(accounts[i % accounts.Count]), headers, cancellationToken: ct);

            Console.WriteLine($"Server pid {server.ProcessId}; {accounts.Count:N0} accounts asked about; {seconds} s per level and server, after a 2 s warm-up.");
            await MeasureAsync(64, TimeSpan.FromSeconds(2), real, ct);
            await MeasureAsync(64, TimeSpan.FromSeconds(2), none, ct);
            verdicts.Clear();

            Console.WriteLine("| callers | Authorize /s | p50 ms | p99 ms | server CPU us/call | no-op unary /s | p50 ms | p99 ms | Authorize / no-op |");
            Console.WriteLine("|--------:|-------------:|-------:|-------:|-------------------:|---------------:|-------:|-------:|------------------:|");
            foreach (var callers in Levels)
            {
                var cpu = server.ProcessorTime;
                var service = await MeasureAsync(callers, TimeSpan.FromSeconds(seconds), real, ct);
                var perCall = (server.ProcessorTime - cpu).TotalMicroseconds / service.Latency.TotalCount;
                var baseline = await MeasureAsync(callers, TimeSpan.FromSeconds(seconds), none, ct);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {callers,7} | {service.PerSecond,12:N0} | {Ms(service.Latency, 50),6:0.00} | {Ms(service.Latency, 99),6:0.00} | {perCall,18:N0} | {baseline.PerSecond,14:N0} | {Ms(baseline.Latency, 50),6:0.00} | {Ms(baseline.Latency, 99),6:0.00} | {service.PerSecond / baseline.PerSecond,17:P0} |"));
            }

            Console.WriteLine($"Decisions measured: {verdicts}.");
            if (verdicts.FailedClosed > 0)
            {
                Console.WriteLine($"The server's last lines:\n{server.RecentOutput}");
            }

            return verdicts.FailedClosed == 0 ? 0 : 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            temp.Delete(recursive: true);
        }
    }

    /// <summary>Registers <paramref name="count"/> accounts and returns those the gate is asked about (see <see cref="Workload.GateAccounts"/>).</summary>
    public static async Task<List<LoadAccount>> RegisterAsync(GrpcChannel channel, Metadata headers, int count, CancellationToken ct)
    {
        var registry = new RegistryService.RegistryServiceClient(channel);
        var accounts = Workload.GateAccounts(Workload.CreateAccounts(count, "gate"), DateTimeOffset.UtcNow);
        await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
            async (a, token) => await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = a.ToProto() }, headers, cancellationToken: token));
        return accounts;
    }

    /// <summary>
    /// <paramref name="callers"/> callers, each calling again as soon as it is answered, for <paramref name="duration"/>:
    /// calls answered per second and the latency of each call.
    /// </summary>
    public static async Task<(double PerSecond, LongHistogram Latency)> MeasureAsync(int callers, TimeSpan duration, Func<int, Task> call, CancellationToken ct)
    {
        var histograms = Enumerable.Range(0, callers).Select(_ => IngestDriver.NewHistogram()).ToArray();
        var next = 0;
        var started = Stopwatch.GetTimestamp();
        var until = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(histograms.Select(h => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < until)
            {
                var start = Stopwatch.GetTimestamp();
                await call(Interlocked.Increment(ref next));
                h.RecordValue(Stopwatch.GetTimestamp() - start);
            }
        }, ct)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var latency = IngestDriver.NewHistogram();
        foreach (var h in histograms)
        {
            latency.Add(h);
        }

        return (latency.TotalCount / elapsed.TotalSeconds, latency);
    }

    public static double Ms(LongHistogram h, double percentile) => IngestDriver.Milliseconds(h.GetValueAtPercentile(percentile));

    public static GrpcChannel OpenChannel(string endpoint) => GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
    });

    /// <summary>The verdicts of the measured decisions, counted across callers.</summary>
    public sealed class Tally
    {
        private long _allowed;
        private long _denied;
        private long _failedClosed;

        public long FailedClosed => Interlocked.Read(ref _failedClosed);

        public void Add(Decision decision)
        {
            Interlocked.Increment(ref decision.FailedClosed ? ref _failedClosed : ref decision.Verdict == Verdict.Allow ? ref _allowed : ref _denied);
        }

        public void Clear()
        {
            Interlocked.Exchange(ref _allowed, 0);
            Interlocked.Exchange(ref _denied, 0);
            Interlocked.Exchange(ref _failedClosed, 0);
        }

        public override string ToString() => $"{Interlocked.Read(ref _allowed):N0} allowed, {Interlocked.Read(ref _denied):N0} denied, {FailedClosed:N0} failed closed";
    }
}
