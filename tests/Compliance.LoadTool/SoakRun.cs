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
/// says whether memory, handles and latency stayed flat (the last third of the run against the middle third).
///   dotnet run -c Release --project tests/Compliance.LoadTool -- soak [minutes] [events per second] [accounts] [simulated days] [gate decisions per second]
/// The feed runs a steady state, as a service lives it: its events happen on a simulated clock that covers
/// <c>simulated days</c> (150) of the past in the run's minutes, each account in its daytime hours, so every borrower
/// gets a few contacts a week and old contacts leave the rules' windows while new ones come in. The policy's history
/// reaches back 33 days (Massachusetts counts 30 calendar days), so a deployment's state stops growing after 33 days;
/// 150 simulated days put that in the first third of the run, before the two thirds compared. The server
/// is started with a late window a day longer than the simulated span. (Piling the feed's events into real time
/// instead gives every borrower hundreds of contacts within the windows by the end: state that must grow. That worst
/// case is the ingest run's dense workload.) The gate is asked 200 times a second unless told (a dialer asks before
/// each call; four callers without pause recorded 2,000 decisions a second, 450 MB of database a minute) about accounts
/// of its own, at the real time, whose histories are the gate's own reservations. The report each minute covers the
/// last simulated day.
/// </summary>
internal static class SoakRun
{
    private const int GateCallers = 4;
    private const int GateAccounts = 2_000;
    private const int Batch = 50;

    public static async Task<int> RunAsync(int minutes, int eventsPerSecond, int accountCount, int simulatedDays, int decisionsPerSecond, CancellationToken ct)
    {
        var temp = Directory.CreateTempSubdirectory("compliance-soak-");
        try
        {
            var dataDirectory = Path.Combine(temp.FullName, "server");
            var settings = new Dictionary<string, string> { ["COMPLIANCE__INGEST__LATEWINDOW"] = TimeSpan.FromDays(simulatedDays + 1).ToString("c") };
            await using var server = ServerUnderTest.Start(dataDirectory, settings);
            var key = await server.WaitForCollectionKeyAsync(TimeSpan.FromSeconds(60), ct);
            var system = Bearer(key);
            var officer = Bearer(ReadKey(dataDirectory, "compliance_officer"));
            using var channel = GrpcChannel.ForAddress(server.Endpoint);
            var now = DateTimeOffset.UtcNow;
            var accounts = Workload.CreateAccounts(accountCount + GateAccounts, "soak");
            var registry = new RegistryService.RegistryServiceClient(channel);
            var registering = Stopwatch.StartNew();
            await Parallel.ForEachAsync(accounts, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct },
                async (a, token) => await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = a.ToProto() }, system, cancellationToken: token));
            var gateAccounts = Workload.GateAccounts(accounts.Take(GateAccounts).ToList(), now);
            var fed = accounts.Skip(GateAccounts).ToList();
            var clock = new SimulatedClock(DateTimeOffset.UtcNow.AddDays(-simulatedDays), TimeSpan.FromDays(simulatedDays) - TimeSpan.FromMinutes(5),
                TimeSpan.FromMinutes(minutes));
            Console.WriteLine($"Soak: {minutes} min against server pid {server.ProcessId}: {GateCallers} gate callers asking {decisionsPerSecond:N0} times a second in all about {gateAccounts.Count:N0} accounts "
                + $"of their own, an event feed at {eventsPerSecond:N0} events/s in batches of {Batch} about {fed.Count:N0} accounts on a simulated clock "
                + $"({simulatedDays} days in {minutes} min: {clock.Speed:N0}x, {(double)eventsPerSecond * minutes * 60 / fed.Count / simulatedDays * 7:0.0} contacts per account a week), "
                + $"one alert watcher, a report of the last simulated day built and read each minute. Registered {accounts.Count:N0} accounts in {registering.Elapsed.TotalSeconds:0} s.");

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stop.CancelAfter(TimeSpan.FromMinutes(minutes + 2)); // the minutes, then the last live-heap reading under load
            clock.Start();
            var meter = new Meter();
            var work = new List<Task>();
            var gate = new ContactGateService.ContactGateServiceClient(channel);
            var health = new Health.HealthClient(channel);
            // Each caller asks at its share of the rate, as a dialer's lines ask before each call (a caller that falls
            // behind asks back to back until it has caught up).
            var interval = (long)(Stopwatch.Frequency * GateCallers / (double)decisionsPerSecond);
            for (var w = 0; w < GateCallers; w++)
            {
                var worker = w;
                var next = Stopwatch.GetTimestamp();
                work.Add(Loop(stop.Token, async i =>
                {
                    var request = Workload.AuthorizeCall(gateAccounts[(i * GateCallers + worker) % gateAccounts.Count]);
                    await meter.TimeAsync(Measured.Gate, () => gate.AuthorizeAsync(request, system, cancellationToken: stop.Token).ResponseAsync);
                    await meter.TimeAsync(Measured.Health, () => health.CheckAsync(new HealthCheckRequest(), cancellationToken: stop.Token).ResponseAsync);
                    next += interval;
                    var wait = next - Stopwatch.GetTimestamp();
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), stop.Token);
                    }
                }));
            }

            work.Add(FeedAsync(channel, system, fed, clock, eventsPerSecond, meter, stop.Token));
            work.Add(WatchAsync(channel, officer, meter, stop.Token));
            work.Add(ReportsAsync(channel, officer, clock, meter, stop.Token));

            var rows = new List<Minute>();
            var third = Math.Max(1, minutes / 3);
            var live = new List<(int Minute, double Mb)>();
            var phases = new List<string>();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var previous = await MetricsScrape.ReadAsync(http, server.Metrics, ct);
            Console.WriteLine("(heap: the managed heap after the GC's last collection; GC: memory the GC kept committed then; SQLite: its page caches and statements; GC pause: ms the GC paused the server in the minute)");
            Console.WriteLine("| min | gate/s | gate p50 ms | gate p99 ms | health p50 ms | events/s | ack p99 ms | alerts | report ms | RSS MB | heap MB | GC MB | SQLite MB | GC pause ms | handles | threads | db MB | errors |");
            Console.WriteLine("|----:|-------:|------------:|------------:|--------------:|---------:|-----------:|-------:|----------:|-------:|--------:|------:|----------:|------------:|--------:|--------:|------:|-------:|");
            for (var minute = 1; minute <= minutes && !stop.IsCancellationRequested; minute++)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMinutes(1), stop.Token);
                }
                catch (OperationCanceledException)
                {
                }

                var scrape = await MetricsScrape.ReadAsync(http, server.Metrics, ct);
                var row = meter.Take(minute, server.ProcessId, dataDirectory, scrape, previous);
                if (scrape is not null && previous is not null)
                {
                    phases.Add(Phases(minute, scrape, previous));
                }

                previous = scrape ?? previous;
                rows.Add(row);
                Console.WriteLine(row.ToString());
                // The live heap at the end of the middle third and of the run, the load still running: the collection
                // pauses the server, so its minute is not quite like the others (the 21st of 30, in the last third).
                if (minute == 2 * third || minute == minutes)
                {
                    live.Add((minute, await FullCollection.LiveHeapMbAsync(server.ProcessId, http, server.Metrics, ct)));
                    Console.WriteLine($"      live heap after a full collection at the end of minute {minute}: {live[^1].Mb:0} MB");
                }
            }

            await stop.CancelAsync();
            await Task.WhenAll(work.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            Console.WriteLine();
            Console.WriteLine("Where an acknowledgement's time went, each minute: the server's stage and write-phase histograms, as p99 / highest bucket in ms");
            Console.WriteLine("(bucket bounds: an observation of 130 ms reads 250). Stages: queued, scoring, scored (waiting for the writer); the commit's");
            Console.WriteLine("phases: ingest_turn, begin (write_turn, log_restart, decisions), start (a part of the key merge), plan, finish (ledger), commit.");
            foreach (var line in phases)
            {
                Console.WriteLine(line);
            }

            return Judge(rows, live, meter);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            temp.Delete(recursive: true);
        }
    }

    private static string Phases(int minute, MetricsScrape scrape, MetricsScrape previous)
    {
        static string Ms(double seconds) => double.IsPositiveInfinity(seconds) ? "inf" : $"{seconds * 1000:0.#}";
        var parts = scrape.Since(previous, "compliance_ingest_stage_duration_seconds", "stage")
            .Concat(scrape.Since(previous, "compliance_store_write_phase_duration_seconds", "phase"))
            .Select(p => $"{p.Label} {Ms(p.P99)}/{Ms(p.Max)}");
        return $"  min {minute,3}: {string.Join(", ", parts)}";
    }

    /// <summary>
    /// Flat when the last third of the run holds no more memory, handles or latency than the middle third (plus a margin
    /// for noise). Thirds, not shorter spans: the heap's oldest generation is collected about every ten minutes under this
    /// load and SQLite's page caches fill and empty on a cycle of about as long, so a span of six minutes holds one such
    /// peak or none, and its figures say where the cycle fell.
    /// </summary>
    private static int Judge(List<Minute> rows, List<(int Minute, double Mb)> live, Meter meter)
    {
        if (rows.Count < 3)
        {
            Console.WriteLine("Too short to judge flatness (at least 3 minutes).");
            return meter.Errors == 0 ? 0 : 1;
        }

        var third = rows.Count / 3;
        var early = rows.Skip(third).Take(third).ToList();
        var late = rows.Skip(2 * third).ToList();
        // Memory is judged by its level over each third, not by one minute's reading: RSS is sampled once a minute from
        // a sawtooth (the GC lets garbage pile up to its budget, then collects), so a third's highest reading is as
        // much where the samples fell in that cycle as what the server holds. The heap is judged by what survived a full
        // collection at the end of each third: the runtime's "heap after its last collection" carries the oldest
        // generation's garbage until that generation is collected, so its mean is printed, not judged.
        Console.WriteLine($"RSS highest: {early.Max(r => r.RssMb):0} MB in the middle third, {late.Max(r => r.RssMb):0} in the last; lowest {early.Min(r => r.RssMb):0} and {late.Min(r => r.RssMb):0}");
        var checks = new (string Name, double Early, double Late, double Allowed)[]
        {
            ("RSS MB (mean)", early.Average(r => r.RssMb), late.Average(r => r.RssMb), 1.10),
            ("live heap MB (after a full collection)", LiveAt(live, early[^1].Number), LiveAt(live, late[^1].Number), 1.10),
            ("SQLite MB (highest)", early.Max(r => r.SqliteMb), late.Max(r => r.SqliteMb), 1.10),
            ("handles", early.Max(r => r.Handles), late.Max(r => r.Handles), 1.10),
            ("gate p99 ms", early.Average(r => r.GateP99), late.Average(r => r.GateP99), 1.50),
            ("ack p99 ms", early.Average(r => r.AckP99), late.Average(r => r.AckP99), 1.50),
        };
        Console.WriteLine($"heap after GC MB (mean, not judged): {early.Average(r => r.HeapMb):0.0} in the middle third, {late.Average(r => r.HeapMb):0.0} in the last");
        var flat = true;
        foreach (var (name, before, after, allowed) in checks)
        {
            var ratio = before == 0 ? 1 : after / before;
            var ok = ratio <= allowed;
            flat &= ok;
            Console.WriteLine($"{name}: {before:0.0} in the middle third, {after:0.0} in the last: {ratio:0.00}x (allowed {allowed:0.00}x) {(ok ? "flat" : "GROWS")}");
        }

        Console.WriteLine($"Errors: {meter.Errors}{(meter.Errors > 0 ? $" (first: {meter.FirstError})" : "")}. {(flat && meter.Errors == 0 ? "Flat." : "Not flat.")}");
        return flat && meter.Errors == 0 ? 0 : 1;
    }

    private static double LiveAt(List<(int Minute, double Mb)> live, int minute) => live.Where(l => l.Minute == minute).Select(l => l.Mb).DefaultIfEmpty(double.NaN).First();

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

    /// <summary>
    /// Text messages to the registered mobiles at a steady rate, each at the simulated clock's time and to an account
    /// where that time is daytime (accounts taken in turn); each batch's acknowledgement is timed.
    /// </summary>
    private static async Task FeedAsync(GrpcChannel channel, Metadata system, IReadOnlyList<LoadAccount> accounts, SimulatedClock clock, int eventsPerSecond,
        Meter meter, CancellationToken ct)
    {
        var client = new EventIngestService.EventIngestServiceClient(channel);
        var sent = new ConcurrentDictionary<string, long>();
        var period = TimeSpan.FromSeconds((double)Batch / eventsPerSecond);
        var byZone = accounts.GroupBy(Workload.ZoneOf).Select(g => new Turns(g.Key, g.ToList())).ToList();
        var noticed = new HashSet<string>(StringComparer.Ordinal);
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
                    var (at, awake) = Daytime(clock.Now, byZone);
                    var timestamp = Timestamp.FromDateTimeOffset(at);
                    // Every 40th batch ends with texts to four numbers from one borrower's address book: a blast, so an alert.
                    var blast = ++batches % 40 == 0 ? awake[(int)(batches / 40 % awake.Count)].Next() : null;
                    for (var i = 0; i < Batch; i++, n++)
                    {
                        var third = blast is not null && i >= Batch - 4 ? i - (Batch - 4) : -1;
                        var account = third >= 0 ? blast! : awake[(int)(n % awake.Count)].Next();
                        if (account.InUnitedStates && noticed.Add(account.AccountId))
                        {
                            // Sent with the first contact, as a lender does (without it a US account contacted over
                            // more than five days is an incident).
                            request.Events.Add(Workload.ValidationNotice($"soak-notice-{account.AccountId}", account, at.AddMinutes(-1)));
                        }

                        request.Events.Add(new Event
                        {
                            EventId = $"soak-{n}",
                            AccountId = account.AccountId,
                            CollectorId = Workload.Collector,
                            Channel = Channel.Sms,
                            OccurredAt = timestamp,
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

    /// <summary>
    /// The zones where <paramref name="at"/> is daytime (09:00 to 20:00), or, in the hours when it is night in every
    /// zone of the run, the first quarter hour after when it is day somewhere.
    /// </summary>
    private static (DateTimeOffset At, List<Turns> Awake) Daytime(DateTimeOffset at, List<Turns> zones)
    {
        while (true)
        {
            var awake = zones.Where(z => TimeZoneInfo.ConvertTime(at, z.Zone).Hour is >= 9 and < 20).ToList();
            if (awake.Count > 0)
            {
                return (at, awake);
            }

            at = at.AddMinutes(15);
        }
    }

    /// <summary>The accounts of one zone, taken in turn.</summary>
    private sealed class Turns(TimeZoneInfo zone, List<LoadAccount> accounts)
    {
        private int _next;

        public TimeZoneInfo Zone { get; } = zone;

        public LoadAccount Next() => accounts[_next++ % accounts.Count];
    }

    /// <summary>
    /// Past time run fast: from <c>start</c> it covers <c>span</c> in the run's real <c>duration</c>, so the feed's
    /// events happen days apart per account while the run lasts minutes (and are never later than now).
    /// </summary>
    private sealed class SimulatedClock(DateTimeOffset start, TimeSpan span, TimeSpan duration)
    {
        private readonly Stopwatch _elapsed = new();

        public double Speed => span / duration;

        public DateTimeOffset Now => start + (_elapsed.Elapsed < duration ? _elapsed.Elapsed : duration) * Speed;

        public void Start() => _elapsed.Start();
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

    /// <summary>Each minute: a report of the last simulated day built on request, then read as HTML, as an officer reads the daily one.</summary>
    private static Task ReportsAsync(GrpcChannel channel, Metadata officer, SimulatedClock clock, Meter meter, CancellationToken ct)
    {
        var reports = new ReportService.ReportServiceClient(channel);
        return Loop(ct, async _ =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            var end = clock.Now;
            var start = Stopwatch.GetTimestamp();
            try
            {
                var run = await reports.RunReportAsync(new RunReportRequest
                {
                    Kind = ReportKind.Period,
                    PeriodStart = Timestamp.FromDateTimeOffset(end.AddDays(-1)),
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
        long Alerts, double ReportMs, double RssMb, double HeapMb, double GcMb, double SqliteMb, double GcPauseMs, int Handles, int Threads, double DatabaseMb, long Errors)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"| {Number,3} | {GatePerSecond,6:N0} | {GateP50,11:0.00} | {GateP99,11:0.00} | {HealthP50,13:0.00} | {EventsPerSecond,8:N0} | {AckP99,10:0.0} | {Alerts,6:N0} | {ReportMs,9:N0} | {RssMb,6:N0} | {HeapMb,7:N0} | {GcMb,5:N0} | {SqliteMb,9:N0} | {GcPauseMs,11:N0} | {Handles,7:N0} | {Threads,7:N0} | {DatabaseMb,5:N0} | {Errors,6:N0} |");
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

        /// <param name="scrape">The server's metrics now, or null when its scrape did not answer (the columns read 0).</param>
        /// <param name="previous">The scrape a minute before, for the GC's pause time within the minute.</param>
        public Minute Take(int number, int pid, string dataDirectory, MetricsScrape? scrape, MetricsScrape? previous)
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
                P(taken[(int)Measured.Ack], 99), Interlocked.Exchange(ref _alerts, 0), P(taken[(int)Measured.Report], 50), rss, scrape?.HeapMb ?? 0, scrape?.GcCommittedMb ?? 0,
                scrape?.SqliteMb ?? 0, scrape is null || previous is null ? 0 : (scrape.GcPauseSeconds - previous.GcPauseSeconds) * 1000, Handles(pid), threads, DatabaseMb(dataDirectory), Errors);
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
