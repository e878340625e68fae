using System.Collections.Concurrent;
using System.Diagnostics;
using Compliance.Api.V1;
using Grpc.Core;
using Grpc.Net.Client;
using HdrHistogram;

namespace Compliance.LoadTool;

/// <summary>What one measured run produced. <see cref="Rows"/> counts the database rows written, where known.</summary>
internal sealed record RunResult(string Name, long Events, TimeSpan Elapsed, HistogramBase Latency, AckTally Acks, long Rows = 0)
{
    public double EventsPerSecond => Events / Elapsed.TotalSeconds;

    /// <summary>Processor time the run took, where measured: of the server process, and of this tool (the client, or the inserts).</summary>
    public (TimeSpan Server, TimeSpan Tool)? Processor { get; init; }

    /// <summary>The run cut into tenths by events acknowledged, where measured.</summary>
    public IReadOnlyList<Tenth>? Tenths { get; init; }
}

/// <summary>One tenth of a run: its events, how long they took, the batch latencies acknowledged in it and the server's processor time.</summary>
internal sealed record Tenth(long Events, TimeSpan Elapsed, HistogramBase Latency, TimeSpan ServerProcessor)
{
    public double EventsPerSecond => Events / Elapsed.TotalSeconds;
}

/// <summary>
/// Cuts a run into tenths by the events acknowledged so far: when each tenth ends, its time and the server's
/// processor time, and the latency of each batch acknowledged within it. Shared by the streams.
/// </summary>
internal sealed class TenthRecorder(long total, Func<TimeSpan> serverProcessor)
{
    private readonly Lock _sync = new();
    private readonly LongHistogram[] _latency = Enumerable.Range(0, 10).Select(_ => IngestDriver.NewHistogram()).ToArray();
    private readonly long[] _endedAt = new long[10];
    private readonly TimeSpan[] _cpuAt = new TimeSpan[10];
    private long _acked;
    private long _startedAt;
    private TimeSpan _cpuStart;

    public void Start()
    {
        _startedAt = Stopwatch.GetTimestamp();
        _cpuStart = serverProcessor();
    }

    public void Acked(int events, long latencyTicks, long now)
    {
        lock (_sync)
        {
            var tenth = (int)Math.Min(9, _acked * 10 / Math.Max(1, total));
            _latency[tenth].RecordValue(latencyTicks);
            var before = _acked;
            _acked += events;
            for (var t = (int)(before * 10 / Math.Max(1, total)); t < 10 && _acked * 10 / Math.Max(1, total) > t; t++)
            {
                _endedAt[t] = now;
                _cpuAt[t] = serverProcessor();
                Report(t);
            }
        }
    }

    /// <summary>Prints a tenth as it ends, so that a run stopped early still shows how far it got and how it went.</summary>
    private void Report(int t)
    {
        var (from, cpu) = t == 0 ? (_startedAt, _cpuStart) : (_endedAt[t - 1], _cpuAt[t - 1]);
        var events = (total * (t + 1) / 10) - (total * t / 10);
        var elapsed = Stopwatch.GetElapsedTime(from, _endedAt[t]);
        var serverCpu = _cpuAt[t] - cpu;
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(invariant,
            $"  tenth {t + 1,2} done at {Stopwatch.GetElapsedTime(_startedAt, _endedAt[t]).TotalSeconds,7:0.0} s: {events / elapsed.TotalSeconds,9:N0} events/s, " +
            $"ack p50 {IngestDriver.Milliseconds(_latency[t].GetValueAtPercentile(50)),6:0.0} ms, p99 {IngestDriver.Milliseconds(_latency[t].GetValueAtPercentile(99)),7:0.0} ms, " +
            $"server {serverCpu.TotalMicroseconds / Math.Max(1, events),6:0.0} us/event, {serverCpu / elapsed:0.00} cores busy"));
    }

    public IReadOnlyList<Tenth> Tenths()
    {
        var tenths = new List<Tenth>(10);
        var (from, cpu) = (_startedAt, _cpuStart);
        for (var t = 0; t < 10 && _endedAt[t] != 0; t++)
        {
            var events = (total * (t + 1) / 10) - (total * t / 10);
            tenths.Add(new Tenth(events, Stopwatch.GetElapsedTime(from, _endedAt[t]), _latency[t], _cpuAt[t] - cpu));
            (from, cpu) = (_endedAt[t], _cpuAt[t]);
        }

        return tenths;
    }
}

/// <summary>
/// Streams prepared batches over concurrent EventIngestService.Stream calls. Each stream pipelines: it keeps up to
/// <c>outstanding</c> batches unacknowledged and sends the next as soon as one is acknowledged, so the measured
/// rate is the server's, not the round trip's. Latency is per batch, from its send to its acknowledgement.
/// </summary>
internal static class IngestDriver
{
    /// <param name="rate">Events per second over all streams, or 0 for as fast as the server takes them.</param>
    public static async Task<RunResult> RunAsync(string name, GrpcChannel channel, Metadata headers, IReadOnlyList<StreamRequest[]> streams,
        int outstanding, CancellationToken ct, int rate = 0, Func<TimeSpan>? serverProcessor = null)
    {
        var client = new EventIngestService.EventIngestServiceClient(channel);
        var tally = new AckTally();
        var histograms = streams.Select(_ => NewHistogram()).ToArray();
        var total = streams.Sum(s => s.Sum(r => (long)r.Events.Count));
        var tenths = serverProcessor is null ? null : new TenthRecorder(total, serverProcessor);
        tenths?.Start();
        var started = Stopwatch.GetTimestamp();
        var perStream = (double)rate / streams.Count;
        await Task.WhenAll(streams.Select((batches, i) => RunStreamAsync(client, headers, batches, outstanding, perStream, histograms[i], tally, tenths, ct)));
        var elapsed = Stopwatch.GetElapsedTime(started);

        var latency = NewHistogram();
        foreach (var histogram in histograms)
        {
            latency.Add(histogram);
        }

        return new RunResult(name, total, elapsed, latency, tally) { Tenths = tenths?.Tenths() };
    }

    /// <summary>Latencies in Stopwatch ticks, up to ten minutes, three significant digits.</summary>
    public static LongHistogram NewHistogram() => new(Stopwatch.Frequency * 600, 3);

    public static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>Awaits one call and records how long it took.</summary>
    public static async Task<T> TimedAsync<T>(LongHistogram into, Func<Task<T>> call)
    {
        var start = Stopwatch.GetTimestamp();
        var result = await call();
        into.RecordValue(Stopwatch.GetTimestamp() - start);
        return result;
    }

    private static async Task RunStreamAsync(EventIngestService.EventIngestServiceClient client, Metadata headers, StreamRequest[] batches,
        int outstanding, double rate, LongHistogram latency, AckTally tally, TenthRecorder? tenths, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var call = client.Stream(headers, cancellationToken: stop.Token);
        using var window = new SemaphoreSlim(outstanding);
        // Acknowledgements come back in request order, one response per request.
        var inFlight = new ConcurrentQueue<(long SentAt, StreamRequest Request)>();
        var reader = Task.Run(async () =>
        {
            try
            {
                var received = 0;
                await foreach (var response in call.ResponseStream.ReadAllAsync(stop.Token))
                {
                    var now = Stopwatch.GetTimestamp();
                    if (!inFlight.TryDequeue(out var sent))
                    {
                        throw new InvalidOperationException("The server answered a request that was never sent.");
                    }

                    latency.RecordValue(now - sent.SentAt);
                    tenths?.Acked(sent.Request.Events.Count, now - sent.SentAt, now);
                    tally.Add(sent.Request, response);
                    received++;
                    window.Release();
                }

                return received;
            }
            catch
            {
                // Unblock the sender, which may be waiting for a window slot that will never free up.
                await stop.CancelAsync();
                throw;
            }
        }, CancellationToken.None);

        try
        {
            var started = Stopwatch.GetTimestamp();
            var sent = 0L;
            foreach (var request in batches)
            {
                if (rate > 0 && TimeSpan.FromSeconds(sent / rate) - Stopwatch.GetElapsedTime(started) is { Ticks: > 0 } ahead)
                {
                    await Task.Delay(ahead, stop.Token);
                }

                sent += request.Events.Count;
                await window.WaitAsync(stop.Token);
                inFlight.Enqueue((Stopwatch.GetTimestamp(), request));
                await call.RequestStream.WriteAsync(request, stop.Token);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (OperationCanceledException) when (reader.IsFaulted)
        {
            // The reader's exception says why; it is thrown below.
        }

        var answered = await reader;
        if (answered != batches.Length)
        {
            throw new InvalidOperationException($"The stream ended after {answered} of {batches.Length} responses.");
        }
    }
}

/// <summary>Counts acknowledgements by status and violations by rule, across streams.</summary>
internal sealed class AckTally
{
    private const int KeptRejections = 5;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _violationsByRule = new(StringComparer.Ordinal);
    private readonly List<string> _rejections = [];

    public long Accepted { get; private set; }
    public long Duplicate { get; private set; }
    public long Rejected { get; private set; }
    public long Other { get; private set; }
    public long EventsWithViolations { get; private set; }
    public long Mismatched { get; private set; }

    public IReadOnlyDictionary<string, long> ViolationsByRule => _violationsByRule;

    /// <summary>The first rejections, with their fields and reasons.</summary>
    public IReadOnlyList<string> Rejections => _rejections;

    public void Add(StreamRequest request, StreamResponse response)
    {
        lock (_lock)
        {
            if (response.Acks.Count != request.Events.Count)
            {
                Mismatched += Math.Abs(request.Events.Count - response.Acks.Count);
            }

            for (var i = 0; i < response.Acks.Count; i++)
            {
                var ack = response.Acks[i];
                if (i < request.Events.Count && ack.EventId != request.Events[i].EventId)
                {
                    Mismatched++;
                }

                switch (ack.Status)
                {
                    case AckStatus.Accepted: Accepted++; break;
                    case AckStatus.Duplicate: Duplicate++; break;
                    case AckStatus.Rejected:
                        Rejected++;
                        if (_rejections.Count < KeptRejections)
                        {
                            _rejections.Add($"{ack.EventId}: {ack.ErrorField}: {ack.ErrorMessage}");
                        }

                        break;
                    default: Other++; break;
                }

                if (ack.Violations.Count > 0)
                {
                    EventsWithViolations++;
                }

                foreach (var violation in ack.Violations)
                {
                    var rule = violation.Rule.RuleId;
                    _violationsByRule[rule] = _violationsByRule.GetValueOrDefault(rule) + 1;
                }
            }
        }
    }
}
