using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Compliance.Storage;

/// <summary>
/// Traces of the store's commands and transactions (source <c>Compliance.Storage</c>). With no listener, as when no
/// trace exporter is configured, starting an activity returns null and costs a field read. And the time each phase of
/// a write transaction takes (meter <c>Compliance.Storage</c>), so that a slow acknowledgement can be told apart:
/// waiting for the write turn, starting the write-ahead log over, merging event keys, writing, committing.
/// </summary>
public static class StoreTelemetry
{
    public const string SourceName = "Compliance.Storage";

    internal static readonly ActivitySource Source = new(SourceName);

    public const string MeterName = "Compliance.Storage";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>
    /// Bucket bounds in seconds, from 100 us to 10 s, for every latency histogram of the service (OpenTelemetry's
    /// defaults, 0 to 10,000, are meant for milliseconds: every gate decision fell in the first bucket).
    /// </summary>
    public static IReadOnlyList<double> SecondsBuckets { get; } = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly Histogram<double> PhaseSeconds = Meter.CreateHistogram<double>("compliance.store.write.phase.duration", "s",
        "Time one phase of a write transaction took, by phase: for every writer write_turn (waiting for it), log_restart " +
        "(starting the write-ahead log over) and decisions (writing journaled gate decisions first); for the ingest's group commits " +
        "ingest_turn, begin (the three before), start (merging a part of the event keys), plan (the batch's rows), finish (the ledger) and commit.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary>Records a phase that began at <paramref name="started"/> (a <see cref="Stopwatch.GetTimestamp"/>) and returns now's timestamp, for the next phase.</summary>
    internal static long Phase(string name, long started)
    {
        var now = Stopwatch.GetTimestamp();
        if (PhaseSeconds.Enabled)
        {
            PhaseSeconds.Record(Stopwatch.GetElapsedTime(started, now).TotalSeconds, new KeyValuePair<string, object?>("phase", name));
        }

        return now;
    }

    /// <summary>A span for one command, named by its first keyword (never its parameters: they hold hashed numbers and ids).</summary>
    internal static Activity? Command(string sql)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("db.command", ActivityKind.Client);
        if (activity is not null)
        {
            var text = sql.AsSpan().TrimStart();
            var end = text.IndexOfAny(' ', '\n', '\r');
            activity.SetTag("db.operation.name", (end < 0 ? text : text[..end]).ToString().ToUpperInvariant());
        }

        return activity;
    }

    /// <summary>A span for a store operation that runs several commands (a decision, a group commit).</summary>
    internal static Activity? Operation(string name) => Source.HasListeners() ? Source.StartActivity(name, ActivityKind.Internal) : null;
}
