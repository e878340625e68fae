using System.Globalization;
using HdrHistogram;

namespace Compliance.LoadTool;

/// <summary>The result table: rates, ratios against the goals, latency percentiles and the verdicts seen.</summary>
internal static class ResultTable
{
    private const double ServiceGoal = 100_000;
    private const double StorageShareGoal = 0.60;

    /// <summary>Prints the run's table and checks; returns whether exactly the planted violations and blasts were found.</summary>
    public static bool Print(LoadOptions options, Workload workload, RunResult service, RunResult transport, RunResult storage, GateProbe gate,
        IReadOnlyList<string> blastIncidents)
    {
        var w = Console.Out;
        w.WriteLine();
        w.WriteLine($"| {"Run [latency measured]",-46} | {"Events",9} | {"Seconds",7} | {"Events/s",9} | {"p50 ms",8} | {"p99 ms",8} | {"max ms",8} |");
        w.WriteLine($"|{new string('-', 48)}|{new string('-', 11)}|{new string('-', 9)}|{new string('-', 11)}|{new string('-', 10)}|{new string('-', 10)}|{new string('-', 10)}|");
        Row(w, $"service (real server, {options.Streams} streams)", service, "per batch");
        Row(w, "transport (no-op gRPC server)", transport, "per batch");
        Row(w, $"storage (raw inserts, {options.CommitSize}/tx)", storage, "per tx");
        w.WriteLine();
        w.WriteLine($"storage rows: {storage.Rows:N0} ({storage.Rows / storage.Elapsed.TotalSeconds:N0} rows/s: one event-log row per event)");
        w.WriteLine($"service / transport: {Percent(service.EventsPerSecond / transport.EventsPerSecond)}");
        if (options.Rate > 0)
        {
            w.WriteLine($"service events/s:    {service.EventsPerSecond:N0}, paced at {options.Rate:N0} (--rate): a load, not a limit, so no goals are judged");
        }
        else
        {
            w.WriteLine($"service / storage:   {Percent(service.EventsPerSecond / storage.EventsPerSecond)}  (goal >= {Percent(StorageShareGoal)}: {Verdict(service.EventsPerSecond >= StorageShareGoal * storage.EventsPerSecond)})");
            w.WriteLine($"service events/s:    {service.EventsPerSecond:N0}  (goal >= {ServiceGoal:N0}: {Verdict(service.EventsPerSecond >= ServiceGoal)})");
        }

        if (service.Processor is { } serviceCpu && storage.Processor is { } storageCpu)
        {
            // Processor time is steadier than events/s on a shared machine: it tells where a change saves, and how far
            // the cores are from full.
            var cores = Environment.ProcessorCount;
            var busy = (serviceCpu.Server + serviceCpu.Tool) / (service.Elapsed * cores);
            w.WriteLine($"processor time per event: service {Micros(serviceCpu.Server, service.Events)} us in the server + {Micros(serviceCpu.Tool, service.Events)} us in the load tool "
                + $"({Percent(busy)} of {cores} cores busy); storage {Micros(storageCpu.Tool, storage.Events)} us");
        }

        if (service.Tenths is { Count: > 0 } tenths)
        {
            // Flat under growth: each tenth beside the first and beside the storage limit of the whole run (same rows).
            var cores = Environment.ProcessorCount;
            w.WriteLine();
            w.WriteLine($"| {"tenth",5} | {"events/s",9} | {"/ 1st",6} | {"/ storage",9} | {"ack p50 ms",10} | {"ack p99 ms",10} | {"server us/event",15} | {"busy cores",10} |");
            w.WriteLine($"|{new string('-', 7)}|{new string('-', 11)}|{new string('-', 8)}|{new string('-', 11)}|{new string('-', 12)}|{new string('-', 12)}|{new string('-', 17)}|{new string('-', 12)}|");
            for (var t = 0; t < tenths.Count; t++)
            {
                var tenth = tenths[t];
                var busyCores = tenth.ServerProcessor / tenth.Elapsed;
                w.WriteLine($"| {t + 1,5} | {tenth.EventsPerSecond,9:N0} | {Percent(tenth.EventsPerSecond / tenths[0].EventsPerSecond),6} | {Percent(tenth.EventsPerSecond / storage.EventsPerSecond),9} | "
                    + $"{Ms(tenth.Latency, 50),10} | {Ms(tenth.Latency, 99),10} | {Micros(tenth.ServerProcessor, tenth.Events),15} | {busyCores.ToString("0.00", CultureInfo.InvariantCulture),10} |");
            }

            w.WriteLine($"(busy cores: the server process only, of {cores}; storage limit of the whole run: {storage.EventsPerSecond:N0} events/s)");
            w.WriteLine();
        }

        w.WriteLine($"gate during the service run: {gate.Latency.TotalCount:N0} Authorize calls, one per {GateProbe.Interval.TotalMilliseconds:0} ms: p50 {Ms(gate.Latency, 50)} ms, p99 {Ms(gate.Latency, 99)} ms, " +
            $"max {Max(gate.Latency)} ms{(gate.Failed > 0 ? $"; {gate.Failed} failed" : "")}");
        w.WriteLine($"  health check before each: p50 {Ms(gate.Health, 50)} ms, p99 {Ms(gate.Health, 99)} ms; Authorize p50 / health p50: " +
            $"{gate.Latency.GetValueAtPercentile(50) / (double)Math.Max(1, gate.Health.GetValueAtPercentile(50)):0.0}x");
        if (gate.Callers is { Callers: > 0 } mixed)
        {
            w.WriteLine($"mixed mode: {mixed.Callers} callers asked the gate back to back beside the stream: {mixed.PerSecond:N0} Authorize/s, " +
                $"p50 {Ms(mixed.Latency, 50)} ms, p99 {Ms(mixed.Latency, 99)} ms, max {Max(mixed.Latency)} ms{(mixed.Failed > 0 ? $"; {mixed.Failed} failed" : "")}");
        }
        w.WriteLine();

        var acks = service.Acks;
        w.WriteLine($"service acks: {acks.Accepted:N0} accepted, {acks.Duplicate:N0} duplicate, {acks.Rejected:N0} rejected, {acks.Other:N0} other, {acks.Mismatched:N0} out of order or missing");
        w.WriteLine($"events with violations: {acks.EventsWithViolations:N0} (planted: {workload.PlantedViolations:N0})");
        foreach (var (rule, count) in acks.ViolationsByRule.OrderByDescending(r => r.Value))
        {
            w.WriteLine($"  {rule,-45} {count,9:N0}");
        }

        foreach (var rejection in acks.Rejections)
        {
            w.WriteLine($"  rejected: {rejection}");
        }

        var blastAccounts = blastIncidents.ToHashSet(StringComparer.Ordinal);
        w.WriteLine($"address-book incidents: {blastIncidents.Count:N0} on {blastAccounts.Count:N0} accounts, {blastAccounts.Count(workload.PlantedBlasts.Contains):N0} of them planted (planted: {workload.PlantedBlasts.Count:N0})");
        var detected = acks.EventsWithViolations == workload.PlantedViolations
            && blastIncidents.Count == workload.PlantedBlasts.Count && blastAccounts.SetEquals(workload.PlantedBlasts);
        w.WriteLine($"detection: {(detected ? "exactly the planted violations and blasts" : "NOT exactly the planted violations and blasts")}");
        if (transport.Acks.Accepted != transport.Events)
        {
            w.WriteLine($"transport acks: {transport.Acks.Accepted:N0} of {transport.Events:N0} accepted");
        }

        return detected;
    }

    private static void Row(TextWriter w, string name, RunResult run, string latencyOf)
    {
        var label = $"{name} [{latencyOf}]";
        w.WriteLine($"| {label,-46} | {run.Events,9:N0} | {run.Elapsed.TotalSeconds,7:0.00} | {run.EventsPerSecond,9:N0} | {Ms(run.Latency, 50),8} | {Ms(run.Latency, 99),8} | {Max(run.Latency),8} |");
    }

    private static string Ms(HistogramBase h, double percentile) =>
        IngestDriver.Milliseconds(h.GetValueAtPercentile(percentile)).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Max(HistogramBase h) => IngestDriver.Milliseconds(h.GetMaxValue()).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Percent(double ratio) => ratio.ToString("0%", CultureInfo.InvariantCulture);

    private static string Verdict(bool met) => met ? "met" : "NOT met";

    private static string Micros(TimeSpan time, long events) => (time.TotalMicroseconds / Math.Max(1, events)).ToString("0.0", CultureInfo.InvariantCulture);
}
