using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HdrHistogram;

namespace Compliance.LoadTool;

/// <summary>
/// A long mixed run against the real server, as a lender's systems use it all day: dialers asking the gate, an event
/// feed streaming at a steady rate, a compliance officer watching alerts, reports built and read. Every minute it
/// prints the server's resident memory, open handles and threads, the database size and each path's latency, then
/// says whether memory, handles and latency stayed flat (the last fifth of the run against the second fifth).
///   dotnet run -c Release --project tests/Compliance.LoadTool -- soak [minutes] [events per second]
/// </summary>
internal static class SoakRun
{
    private const int Accounts = 2_000;
    private const int GateCallers = 4;
    private const int Batch = 50;

    public static async Task<int> RunAsync(int minutes, int eventsPerSecond, CancellationToken ct)
    {
        var temp = Directory.CreateTempSubdirectory("compliance-soak-");
        try
        {
            var dataDirectory = Path.Combine(temp.FullName, "server");
            await using var server = ServerUnderTest.Start(dataDirectory);
            var key = await server.WaitForCollectionKeyAsync(TimeSpan.FromSeconds(60), ct);
            var system = Bearer(key);
            var officer = Bearer(ReadKey(dataDirectory, "compliance_officer"));
            using var channel = GrpcChannel.ForAddress(server.Endpoint);
            var now = DateTimeOffset.UtcNow;
            var accounts = Workload.CreateAccounts(Accounts, "soak");
            var registry = new RegistryService.RegistryServiceClient(channel);
            await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
                async (a, token) => await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = a.ToProto() }, system, cancellationToken: token));
            Console.WriteLine($"Soak: {minutes} min against server pid {server.ProcessId}: {GateCallers} gate callers without pause, "
                + $"an event feed at {eventsPerSecond:N0} events/s in batches of {Batch}, one alert watcher, a report built and read each minute; {Accounts:N0} accounts.");

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stop.CancelAfter(TimeSpan.FromMinutes(minutes));
            var meter = new Meter();
            var work = new List<Task>();
            var gate = new ContactGateService.ContactGateServiceClient(channel);
            var health = new Health.HealthClient(channel);
            var gateAccounts = Workload.GateAccounts(accounts, now);
            for (var w = 0; w < GateCallers; w++)
            {
                var worker = w;
                work.Add(Loop(stop.Token, async i =>
                {
                    var request = Workload.AuthorizeCall(gateAccounts[(i * GateCallers + worker) % gateAccounts.Count]);
                    await meter.TimeAsync(Measured.Gate, () => gate.AuthorizeAsync(request, system, cancellationToken: stop.Token).ResponseAsync);
                    await meter.TimeAsync(Measured.Health, () => health.CheckAsync(new HealthCheckRequest(), cancellationToken: stop.Token).ResponseAsync);
                }));
            }

            work.Add(FeedAsync(channel, system, accounts, eventsPerSecond, meter, stop.Token));
            work.Add(WatchAsync(channel, officer, meter, stop.Token));
            work.Add(ReportsAsync(channel, officer, meter, stop.Token));

            var rows = new List<Minute>();
            Console.WriteLine("| min | gate/s | gate p50 ms | gate p99 ms | health p50 ms | events/s | ack p99 ms | alerts | report ms | RSS MB | handles | threads | db MB | errors |");
            Console.WriteLine("|----:|-------:|------------:|------------:|--------------:|---------:|-----------:|-------:|----------:|-------:|--------:|--------:|------:|-------:|");
            for (var minute = 1; minute <= minutes && !stop.IsCancellationRequested; minute++)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMinutes(1), stop.Token);
                }
                catch (OperationCanceledException)
                {
                }

                var row = meter.Take(minute, server.ProcessId, dataDirectory);
                rows.Add(row);
                Console.WriteLine(row.ToString());
            }

            await stop.CancelAsync();
            await Task.WhenAll(work.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            return Judge(rows, meter);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            temp.Delete(recursive: true);
        }
    }

    /// <summary>Flat when the last fifth of the run holds no more memory, handles or latency than the second fifth (plus a margin for noise).</summary>
    private static int Judge(List<Minute> rows, Meter meter)
    {
        if (rows.Count < 5)
        {
            Console.WriteLine("Too short to judge flatness (at least 5 minutes).");
            return meter.Errors == 0 ? 0 : 1;
        }

        var fifth = Math.Max(1, rows.Count / 5);
        var early = rows.Skip(fifth).Take(fifth).ToList();
        var late = rows.TakeLast(fifth).ToList();
        var checks = new (string Name, double Early, double Late, double Allowed)[]
        {
            ("RSS MB", early.Max(r => r.RssMb), late.Max(r => r.RssMb), 1.10),
            ("handles", early.Max(r => r.Handles), late.Max(r => r.Handles), 1.10),
            ("gate p99 ms", early.Average(r => r.GateP99), late.Average(r => r.GateP99), 1.50),
            ("ack p99 ms", early.Average(r => r.AckP99), late.Average(r => r.AckP99), 1.50),
        };
        var flat = true;
        foreach (var (name, before, after, allowed) in checks)
        {
            var ratio = before == 0 ? 1 : after / before;
            var ok = ratio <= allowed;
            flat &= ok;
            Console.WriteLine($"{name}: {before:0.0} in the second fifth, {after:0.0} in the last: {ratio:0.00}x (allowed {allowed:0.00}x) {(ok ? "flat" : "GROWS")}");
        }

        Console.WriteLine($"Errors: {meter.Errors}{(meter.Errors > 0 ? $" (first: {meter.FirstError})" : "")}. {(flat && meter.Errors == 0 ? "Flat." : "Not flat.")}");
        return flat && meter.Errors == 0 ? 0 : 1;
    }

    private static async Task Loop(CancellationToken ct, Func<int, Task> body)
    {
        await Task.Yield();
        for (var i = 0; !ct.IsCancellationRequested; i++)
        {
            try
            {
                await body(i);
            }
            catch (RpcException) when (ct.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Text messages to the registered mobiles at a steady rate; each batch's acknowledgement is timed.</summary>
    private static async Task FeedAsync(GrpcChannel channel, Metadata system, IReadOnlyList<LoadAccount> accounts, int eventsPerSecond, Meter meter, CancellationToken ct)
    {
        var client = new EventIngestService.EventIngestServiceClient(channel);
        var sent = new ConcurrentDictionary<string, long>();
        var period = TimeSpan.FromSeconds((double)Batch / eventsPerSecond);
        var n = 0L;
        var batches = 0L;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var call = client.Stream(system, cancellationToken: ct);
                var reader = Task.Run(async () =>
                {
                    await foreach (var response in call.ResponseStream.ReadAllAsync(ct))
                    {
                        foreach (var ack in response.Acks)
                        {
                            meter.Acked(ack.Status);
                            if (sent.TryRemove(ack.EventId, out var start))
                            {
                                meter.Record(Measured.Ack, Stopwatch.GetTimestamp() - start);
                            }
                        }
                    }
                }, ct);
                var next = Stopwatch.GetTimestamp();
                while (!ct.IsCancellationRequested && !reader.IsCompleted)
                {
                    var request = new StreamRequest();
                    var at = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1));
                    // Every 40th batch ends with texts to four numbers from one borrower's address book: a blast, so an alert.
                    var blast = ++batches % 40 == 0 ? accounts[(int)(batches / 40 % accounts.Count)] : null;
                    for (var i = 0; i < Batch; i++, n++)
                    {
                        var third = blast is not null && i >= Batch - 4 ? i - (Batch - 4) : -1;
                        var account = third >= 0 ? blast! : accounts[(int)(n % accounts.Count)];
                        request.Events.Add(new Event
                        {
                            EventId = $"soak-{n}",
                            AccountId = account.AccountId,
                            CollectorId = Workload.Collector,
                            Channel = Channel.Sms,
                            OccurredAt = at,
                            Destination = third < 0 ? new Destination { ContactPointId = "mobile" }
                                : new Destination { PhoneNumber = account.InUnitedStates ? $"+1 646 555 01{third:00}" : $"+86 150 0000 01{third:00}" },
                            MessageSent = new MessageSent { Body = Body(account, n) },
                        });
                    }

                    sent[request.Events[^1].EventId] = Stopwatch.GetTimestamp();
                    await call.RequestStream.WriteAsync(request, ct);
                    next += (long)(period.TotalSeconds * Stopwatch.Frequency);
                    var wait = next - Stopwatch.GetTimestamp();
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), ct);
                    }
                }

                await call.RequestStream.CompleteAsync();
                await reader;
            }
            catch (Exception e) when (e is OperationCanceledException || (e is RpcException && ct.IsCancellationRequested))
            {
            }
            catch (RpcException e)
            {
                meter.Error($"stream: {e.Status}");
            }
        }
    }

    /// <summary>A plain reminder, except one message in 500 that threatens arrest (a critical violation, so an alert).</summary>
    private static string Body(LoadAccount account, long n) => (account.InUnitedStates, n % 500 == 499) switch
    {
        (true, false) => "Please call us about your account. Reply STOP to opt out.",
        (true, true) => "Pay today or you will be arrested. Reply STOP to opt out.",
        (false, false) => "请致电我们处理您的账户。回复TD退订。",
        (false, true) => "今天不还款就抓你坐牢。回复TD退订。",
    };

    /// <summary>One officer watching alerts for the whole run, reconnecting when the stream ends.</summary>
    private static Task WatchAsync(GrpcChannel channel, Metadata officer, Meter meter, CancellationToken ct)
    {
        var alerts = new AlertService.AlertServiceClient(channel);
        return Loop(ct, async _ =>
        {
            using var watch = alerts.Watch(new WatchRequest(), officer, cancellationToken: ct);
            await foreach (var incident in watch.ResponseStream.ReadAllAsync(ct))
            {
                meter.Alert();
            }
        });
    }

    /// <summary>Each minute: a report of the last hour built on request, then read as HTML, as an officer does.</summary>
    private static Task ReportsAsync(GrpcChannel channel, Metadata officer, Meter meter, CancellationToken ct)
    {
        var reports = new ReportService.ReportServiceClient(channel);
        return Loop(ct, async _ =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            var end = DateTimeOffset.UtcNow;
            var start = Stopwatch.GetTimestamp();
            try
            {
                var run = await reports.RunReportAsync(new RunReportRequest
                {
                    Kind = ReportKind.Period,
                    PeriodStart = Timestamp.FromDateTimeOffset(end.AddHours(-1)),
                    PeriodEnd = Timestamp.FromDateTimeOffset(end),
                }, officer, cancellationToken: ct);
                await reports.GetReportAsync(new GetReportRequest { ReportId = run.Report.ReportId, Format = ReportFormat.Html }, officer, cancellationToken: ct);
                meter.Record(Measured.Report, Stopwatch.GetTimestamp() - start);
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                meter.Error($"report: {e.Status}");
            }

            await Task.Delay(TimeSpan.FromSeconds(30), ct);
        });
    }

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    private static string ReadKey(string dataDirectory, string role)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(dataDirectory, "dev-keys.json")));
        return document.RootElement.GetProperty("keys").GetProperty(role).GetString() ?? throw new InvalidDataException($"no {role} key");
    }

    /// <summary>One minute's figures.</summary>
    private sealed record Minute(int Number, double GatePerSecond, double GateP50, double GateP99, double HealthP50, double EventsPerSecond, double AckP99,
        long Alerts, double ReportMs, double RssMb, int Handles, int Threads, double DatabaseMb, long Errors)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"| {Number,3} | {GatePerSecond,6:N0} | {GateP50,11:0.00} | {GateP99,11:0.00} | {HealthP50,13:0.00} | {EventsPerSecond,8:N0} | {AckP99,10:0.0} | {Alerts,6:N0} | {ReportMs,9:N0} | {RssMb,6:N0} | {Handles,7:N0} | {Threads,7:N0} | {DatabaseMb,5:N0} | {Errors,6:N0} |");
    }

    private enum Measured
    {
        Gate,
        Health,
        Ack,
        Report,
    }

    /// <summary>Latencies and counts of the current minute, swapped out each minute; errors counted over the run.</summary>
    private sealed class Meter
    {
        private readonly Lock _lock = new();
        private LongHistogram[] _current = Fresh();
        private long _acked;
        private long _alerts;
        private long _errors;
        private long _lastTaken = Stopwatch.GetTimestamp();

        public long Errors => Interlocked.Read(ref _errors);

        public string? FirstError { get; private set; }

        public async Task TimeAsync<T>(Measured path, Func<Task<T>> call)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                await call();
            }
            catch (RpcException e) when (e.StatusCode is not StatusCode.Cancelled)
            {
                Error($"{path}: {e.Status}");
                return;
            }

            Record(path, Stopwatch.GetTimestamp() - start);
        }

        public void Record(Measured path, long ticks)
        {
            lock (_lock)
            {
                var histogram = _current[(int)path];
                histogram.RecordValue(Math.Min(ticks, histogram.HighestTrackableValue));
            }
        }

        public void Acked(AckStatus status)
        {
            Interlocked.Increment(ref _acked);
            if (status is AckStatus.Rejected)
            {
                Error("an event was rejected");
            }
        }

        public void Alert() => Interlocked.Increment(ref _alerts);

        public void Error(string what)
        {
            if (Interlocked.Increment(ref _errors) == 1)
            {
                FirstError = what;
            }
        }

        public Minute Take(int number, int pid, string dataDirectory)
        {
            LongHistogram[] taken;
            double seconds;
            lock (_lock)
            {
                taken = _current;
                _current = Fresh();
                var now = Stopwatch.GetTimestamp();
                seconds = (double)(now - _lastTaken) / Stopwatch.Frequency;
                _lastTaken = now;
            }

            var (rss, threads) = Status(pid);
            var gate = taken[(int)Measured.Gate];
            return new Minute(number, gate.TotalCount / seconds, P(gate, 50), P(gate, 99), P(taken[(int)Measured.Health], 50), Interlocked.Exchange(ref _acked, 0) / seconds,
                P(taken[(int)Measured.Ack], 99), Interlocked.Exchange(ref _alerts, 0), P(taken[(int)Measured.Report], 50), rss, Handles(pid), threads, DatabaseMb(dataDirectory), Errors);
        }

        private static LongHistogram[] Fresh() => [.. System.Enum.GetValues<Measured>().Select(_ => IngestDriver.NewHistogram())];

        private static double P(LongHistogram h, double percentile) => h.TotalCount == 0 ? 0 : IngestDriver.Milliseconds(h.GetValueAtPercentile(percentile));

        private static (double RssMb, int Threads) Status(int pid)
        {
            double rss = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts is ["VmRSS:", var kb, ..])
                {
                    rss = long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0;
                }
                else if (parts is ["Threads:", var count, ..])
                {
                    threads = int.Parse(count, CultureInfo.InvariantCulture);
                }
            }

            return (rss, threads);
        }

        private static int Handles(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

        private static double DatabaseMb(string dataDirectory) =>
            Directory.EnumerateFiles(dataDirectory, "*.db*").Sum(f => new FileInfo(f).Length) / 1048576.0;
    }
}
