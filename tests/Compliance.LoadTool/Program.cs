using System.Diagnostics;
using Compliance.Api.V1;
using Compliance.LoadTool;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

// Sustained ingest over loopback, and its two limits, in one run:
//   dotnet run -c Release --project tests/Compliance.LoadTool -- [--events 300000] [--batch 100] [--streams 4]
// Gate latency against a health-check baseline:
//   dotnet run -c Release --project tests/Compliance.LoadTool -- gate [calls]
// Gate throughput and latency at 1, 8, 64 and 256 concurrent callers against a no-op unary server:
//   dotnet run -c Release --project tests/Compliance.LoadTool -- gate-concurrency [seconds per level] [accounts asked about]
// Verifying the record of many events (ledger batches recomputed from the log):
//   dotnet run -c Release --project tests/Compliance.LoadTool -- ledger [events]
// The embedded store's mechanisms for speed, each turned off in turn, against all on (interleaved rounds):
//   dotnet run -c Release --project tests/Compliance.LoadTool -- storage-ab [events] [rounds] [--check-in-writer]
// A monthly report over many stored events against a plain SELECT COUNT(*) of them, with its peak memory:
//   dotnet run -c Release --project tests/Compliance.LoadTool -- report [events] [--db file]
// (--db keeps the seeded store in that file and reuses it on the next run with the same number of events;
// --indexes-before-0018 seeds and reads with the event indexes schema 0018 replaced, for the A/B of its write cost)
// The server's memory per registered and per active account:
//   dotnet run -c Release --project tests/Compliance.LoadTool -- memory [registered] [active]
// A long mixed run (gate, stream, alerts, reports) with memory, handles and latency each minute:
//   dotnet run -c Release --project tests/Compliance.LoadTool -- soak [minutes] [events per second] [accounts] [simulated days] [gate decisions per second]
if (args is ["gate-concurrency", ..])
{
    return await GateConcurrencyRun.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : int.MaxValue, CancellationToken.None);
}

if (args is ["gate", ..])
{
    return await GateLatencyRun.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5_000, CancellationToken.None);
}

if (args is ["report", ..])
{
    var kept = Array.IndexOf(args, "--db") is var at and > 0 && at + 1 < args.Length ? args[at + 1] : null;
    return await ReportBuildRun.RunAsync(args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000, kept,
        args.Contains("--indexes-before-0018"), CancellationToken.None);
}

if (args is ["soak", ..])
{
    var invariant = System.Globalization.CultureInfo.InvariantCulture;
    return await SoakRun.RunAsync(args.Length > 1 ? int.Parse(args[1], invariant) : 30, args.Length > 2 ? int.Parse(args[2], invariant) : 1_000,
        args.Length > 3 ? int.Parse(args[3], invariant) : 50_000, args.Length > 4 ? int.Parse(args[4], invariant) : 150,
        args.Length > 5 ? int.Parse(args[5], invariant) : 200, CancellationToken.None);
}

if (args is ["memory", ..])
{
    var invariant = System.Globalization.CultureInfo.InvariantCulture;
    return await MemoryRun.RunAsync(args.Length > 1 ? int.Parse(args[1], invariant) : 1_000_000, args.Length > 2 ? int.Parse(args[2], invariant) : 100_000, CancellationToken.None);
}

if (args is ["storage-ab", ..])
{
    var invariant = System.Globalization.CultureInfo.InvariantCulture;
    var numbers = args.Skip(1).Where(a => !a.StartsWith("--", StringComparison.Ordinal)).Select(a => int.Parse(a, invariant)).ToList();
    return await StorageAbRun.RunAsync(numbers.Count > 0 ? numbers[0] : 1_000_000, numbers.Count > 1 ? numbers[1] : 2, args.Contains("--check-in-writer"),
        CancellationToken.None);
}

if (args is ["ledger", ..])
{
    return await LedgerVerifyRun.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000, CancellationToken.None);
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using var timeout = new CancellationTokenSource(options.Timeout);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    timeout.Cancel();
};
var ct = timeout.Token;
var temp = Directory.CreateTempSubdirectory("compliance-load-");
try
{
    Console.WriteLine($"{(options.Realistic ? "Realistic" : "Dense")} workload: {options.Events:N0} events, batches of {options.Batch}, {options.Streams} streams, {options.Outstanding} batches outstanding per stream, {options.Accounts:N0} accounts; time limit {options.Timeout}.");
    var accounts = Workload.CreateAccounts(options.Accounts);
    // About 20 events per warm-up account, as in the measured run, and no more accounts than it has (registering
    // them takes a while).
    var warmAccounts = options.Warmup == 0 ? [] : Workload.CreateAccounts(Math.Clamp(options.Warmup / 20, 1, options.Accounts), "warm");
    RunResult service;
    Workload workload;
    Workload? warmup;
    GateProbe gateProbe;
    IReadOnlyList<string> blastIncidents;

    // 1. The service: the real server process, its store on disk.
    // The realistic workload's contacts reach a week back: the live stream takes them with a late window a day longer.
    var settings = new Dictionary<string, string>();
    if (options.Realistic)
    {
        settings["COMPLIANCE__INGEST__LATEWINDOW"] = TimeSpan.FromDays(Workload.RealisticDays + 1).ToString("c");
    }

    if (options.HistoryRows > 0)
    {
        settings["COMPLIANCE__INGEST__HISTORYCACHEROWS"] = options.HistoryRows.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"The server's ingest keeps at most {options.HistoryRows:N0} attempts of borrowers' windows in memory (--history-rows).");
    }
    await using (var server = ServerUnderTest.Start(Path.Combine(temp.FullName, "server"), settings))
    {
        var phase = Stopwatch.StartNew();
        var key = await server.WaitForCollectionKeyAsync(TimeSpan.FromSeconds(60), ct);
        Console.WriteLine($"Server pid {server.ProcessId} ready at {server.Endpoint} after {phase.Elapsed.TotalSeconds:0.0} s.");
        var headers = new Metadata { { "authorization", $"Bearer {key}" } };
        using var channel = OpenChannel(server.Endpoint);

        phase.Restart();
        var registry = new RegistryService.RegistryServiceClient(channel);
        // Many at once: concurrent upserts share write transactions (the registry's group commit).
        await Parallel.ForEachAsync(accounts.Concat(warmAccounts), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct },
            async (account, token) => await registry.UpsertAccountAsync(new UpsertAccountRequest { Account = account.ToProto() }, headers, cancellationToken: token));
        Console.WriteLine($"Registered {accounts.Count + warmAccounts.Count:N0} accounts in {phase.Elapsed.TotalSeconds:0.0} s ({(accounts.Count + warmAccounts.Count) / phase.Elapsed.TotalSeconds:N0}/s).");

        var now = DateTimeOffset.UtcNow;
        warmup = warmAccounts.Count == 0 ? null : Workload.Create(warmAccounts, options with { Events = options.Warmup }, now);
        if (warmup is not null)
        {
            Console.WriteLine($"Warming up with {warmup.EventCount:N0} events (not measured) ...");
            // The gate is asked beside the warm-up too (about its own accounts), or the measured run would pay for
            // compiling the gate's code when its probe first asks.
            var (warm, _) = await GateProbe.BesideAsync(channel, headers, warmAccounts,
                () => IngestDriver.RunAsync("warm-up", channel, headers, warmup.Streams, options.Outstanding, ct), ct);

            Console.WriteLine($"  {warm.EventsPerSecond:N0} events/s");
        }

        workload = Workload.Create(accounts, options, now);
        foreach (var (region, end) in workload.Ends.Where(e => e.Value < now))
        {
            Console.WriteLine($"It is night in {region}: its accounts' events happen in the hour before {end:HH:mm} UTC and arrive {(now - end).TotalHours:0.0} hours late or more.");
        }

        Console.WriteLine($"Streaming {workload.EventCount:N0} events to the service{(options.Rate > 0 ? $" at {options.Rate:N0} a second" : "")} ...");
        var (serverBefore, toolBefore) = (server.ProcessorTime, Process.GetCurrentProcess().TotalProcessorTime);
        (service, gateProbe) = await GateProbe.BesideAsync(channel, headers, accounts,
            () => IngestDriver.RunAsync("service", channel, headers, workload.Streams, options.Outstanding, ct, options.Rate, () => server.ProcessorTime), ct, options.Callers);
        service = service with { Processor = (server.ProcessorTime - serverBefore, Process.GetCurrentProcess().TotalProcessorTime - toolBefore) };
        Console.WriteLine($"  {service.EventsPerSecond:N0} events/s");
        Console.WriteLine($"  server peak RSS {server.PeakResidentBytes / 1048576.0:N0} MB; data directory (database, journal, logs) {server.DataBytes / 1048576.0:N0} MB");
        blastIncidents = await BlastIncidentsAsync(channel, new Metadata { { "authorization", $"Bearer {server.OfficerKey()}" } }, workload, now, ct);
    }

    // 2. The transport limit: the same batches to a server that only acknowledges.
    RunResult transport;
    await using (var noOp = await NoOpServer.IngestAsync(temp.FullName, ct))
    {
        using var channel = OpenChannel(noOp.Endpoint);
        if (warmup is not null)
        {
            await IngestDriver.RunAsync("warm-up", channel, new Metadata(), warmup.Streams, options.Outstanding, ct);
        }

        Console.WriteLine("Streaming the same batches to a no-op gRPC server ...");
        transport = await IngestDriver.RunAsync("transport", channel, new Metadata(), workload.Streams, options.Outstanding, ct);
        Console.WriteLine($"  {transport.EventsPerSecond:N0} events/s");
    }

    // 3. The storage limit: the same rows, inserted straight into a fresh store.
    Console.WriteLine($"Inserting the same rows into a fresh SQLite store, {options.CommitSize:N0} events per transaction ...");
    var storage = await StorageLimit.RunAsync(Path.Combine(temp.FullName, "storage"), workload, warmup, options.CommitSize, ct);
    Console.WriteLine($"  {storage.EventsPerSecond:N0} events/s");

    var detected = ResultTable.Print(options, workload, service, transport, storage, gateProbe, blastIncidents);
    return service.Acks.Accepted == service.Events && detected ? 0 : 1;
}
catch (OperationCanceledException) when (timeout.IsCancellationRequested)
{
    Console.Error.WriteLine($"Stopped: the run took longer than {options.Timeout} (--timeout).");
    return 3;
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    try
    {
        temp.Delete(recursive: true);
    }
    catch (IOException e)
    {
        Console.Error.WriteLine($"Could not delete {temp.FullName}: {e.Message}");
    }
}

// The accounts of the measured run named by an address-book incident, once per incident.
static async Task<IReadOnlyList<string>> BlastIncidentsAsync(GrpcChannel channel, Metadata headers, Workload workload, DateTimeOffset now, CancellationToken ct)
{
    var alerts = new AlertService.AlertServiceClient(channel);
    var measured = workload.Accounts.Select(a => a.AccountId).ToHashSet(StringComparer.Ordinal);
    var found = new List<string>();
    // Incidents are listed by when their events happened: up to a day before the run in the dense workload (regions
    // at night, see Workload.Ends), up to a week before in the realistic one.
    var request = new ListIncidentsRequest { From = Timestamp.FromDateTimeOffset(now.AddDays(-(Workload.RealisticDays + 1))), PageSize = 500 };
    do
    {
        var page = await alerts.ListIncidentsAsync(request, headers, cancellationToken: ct);
        found.AddRange(page.Incidents.Where(i => i.RuleId == "BASE.address-book-blast" && measured.Contains(i.AccountId)).Select(i => i.AccountId));
        request.PageToken = page.NextPageToken;
    }
    while (request.PageToken.Length > 0);

    return found;
}

static GrpcChannel OpenChannel(string endpoint) => GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
{
    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
    MaxReceiveMessageSize = 64 * 1024 * 1024,
});
