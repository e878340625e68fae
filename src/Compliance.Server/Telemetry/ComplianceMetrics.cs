using System.Diagnostics;
using System.Diagnostics.Metrics;
using Compliance.Storage;

namespace Compliance.Server.Telemetry;

/// <summary>
/// The service's own metrics (meter <c>Compliance.Server</c>): gate decisions by verdict and rule and their latency,
/// ingested events and batches, the ingest queue's depth, group-commit latency and incidents. Recording is a counter
/// add or a histogram record with tags on the stack (<see cref="TagList"/>): nothing is allocated on the gate's path.
/// </summary>
internal sealed class ComplianceMetrics
{
    public const string MeterName = "Compliance.Server";

    private readonly Counter<long> _decisions;
    private readonly Histogram<double> _decisionSeconds;
    private readonly Counter<long> _events;
    private readonly Counter<long> _batches;
    private readonly Histogram<double> _commitSeconds;
    private readonly Histogram<double> _stageSeconds;
    private readonly Counter<long> _incidents;
    private Func<int>? _queueDepth;

    public ComplianceMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _decisions = meter.CreateCounter<long>("compliance.gate.decisions", "{decision}", "Gate decisions (Authorize), by verdict and deciding rule.");
        _decisionSeconds = meter.CreateHistogram<double>("compliance.gate.decision.duration", "s", "Time from a request's arrival at the gate to its recorded decision.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StoreTelemetry.SecondsBuckets });
        _events = meter.CreateCounter<long>("compliance.ingest.events", "{event}", "Events stored by the ingest's group commits.");
        _batches = meter.CreateCounter<long>("compliance.ingest.batches", "{batch}", "Group commits of the ingest, by outcome.");
        _commitSeconds = meter.CreateHistogram<double>("compliance.ingest.commit.duration", "s", "Duration of one group commit (store transaction).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StoreTelemetry.SecondsBuckets });
        _stageSeconds = meter.CreateHistogram<double>("compliance.ingest.stage.duration", "s",
            "Time a batch of requests spent in each stage before its commit, by stage: queued (the oldest request's wait to be taken), " +
            "scoring, and scored (waiting for the writer, when scoring and writing overlap).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StoreTelemetry.SecondsBuckets });
        _incidents = meter.CreateCounter<long>("compliance.incidents", "{incident}", "Incidents raised, by rule and severity.");
        meter.CreateObservableGauge("compliance.ingest.queue.depth", () => _queueDepth?.Invoke() ?? 0, "{request}",
            "Ingest requests waiting for a group commit.");
        meter.CreateObservableGauge("compliance.store.sqlite.memory", () => SqliteStore.NativeMemoryBytes, "By",
            "Memory SQLite holds in this process (page caches, statements), beside the managed heap the runtime's meter reports.");
        meter.CreateObservableGauge("compliance.gc.live_heap", () => LastFullCollection(info => info.PromotedBytes), "By",
            "Managed memory that survived the last full blocking collection: the live heap then, without the garbage the runtime's " +
            "heap size carries between collections of the oldest generation (such a collection is rare; a heap dump asks for one).");
        meter.CreateObservableGauge("compliance.gc.live_heap.collection", () => LastFullCollection(info => info.Index), "{collection}",
            "The number of the collection compliance.gc.live_heap was measured at.");
    }

    private static IEnumerable<Measurement<long>> LastFullCollection(Func<GCMemoryInfo, long> read)
    {
        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return info.Index == 0 ? [] : [new Measurement<long>(read(info))];
    }

    /// <summary>Where the ingest queue's depth is read (set once, by the pipeline).</summary>
    public void ObserveQueue(Func<int> depth) => _queueDepth = depth;

    /// <param name="started">A <see cref="Stopwatch.GetTimestamp"/> taken when the request arrived.</param>
    public void Decided(DecisionRecord decision, long started)
    {
        // The rule that decided: the first that fired (a denial's reason); an allowed contact fired none that binds.
        var rule = "none";
        if (!decision.Allowed)
        {
            foreach (var hit in decision.Rules)
            {
                if (!hit.Shadow)
                {
                    rule = hit.RuleId;
                    break;
                }
            }
        }

        var tags = new TagList { { "verdict", decision.Allowed ? "allow" : "deny" }, { "rule", rule } };
        _decisions.Add(1, tags);
        _decisionSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("verdict", decision.Allowed ? "allow" : "deny"));
    }

    /// <summary>Records a stage of the ingest that began at <paramref name="started"/>; returns now's timestamp, for the next stage.</summary>
    public long Stage(string name, long started)
    {
        var now = Stopwatch.GetTimestamp();
        _stageSeconds.Record(Stopwatch.GetElapsedTime(started, now).TotalSeconds, new KeyValuePair<string, object?>("stage", name));
        return now;
    }

    public void Committed(int events, long started)
    {
        _events.Add(events);
        _batches.Add(1, new KeyValuePair<string, object?>("outcome", "committed"));
        _commitSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    public void CommitFailed(long started)
    {
        _batches.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        _commitSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    public void Raised(Incident incident) =>
        _incidents.Add(1, new KeyValuePair<string, object?>("rule", incident.RuleId), new KeyValuePair<string, object?>("severity", incident.Severity.ToString()));
}
