using Compliance.Api.V1;
using Grpc.Core;
using HdrHistogram;

namespace Compliance.LoadTool;

/// <summary>
/// The gate's latency while the service ingests: one Authorize call every 20 ms (a dialer asking beside the stream),
/// each decided, recorded and reserved in the same store the ingest writer commits to. Each is preceded by a health
/// check, the baseline of a call that does nothing, so the gate's own time shows apart from a machine busy with ingest.
/// In the mixed mode (--callers N) N more callers ask the gate back to back meanwhile, as a dialer's lines do beside its
/// event feed.
/// </summary>
internal sealed class GateProbe
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private readonly Task[] _callers;
    private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();
    private long _stopped;

    private GateProbe(Grpc.Health.V1.Health.HealthClient health, ContactGateService.ContactGateServiceClient gate, Metadata headers, IReadOnlyList<LoadAccount> accounts,
        int callers, CancellationToken ct)
    {
        var next = 0;
        var histograms = Enumerable.Range(0, callers).Select(_ => IngestDriver.NewHistogram()).ToArray();
        _callers = histograms.Select(h => Task.Run(async () =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, ct);
            while (!linked.IsCancellationRequested)
            {
                var request = Workload.AuthorizeCall(accounts[Interlocked.Increment(ref next) % accounts.Count]);
                try
                {
                    await IngestDriver.TimedAsync(h, () => gate.AuthorizeAsync(request, headers, cancellationToken: ct).ResponseAsync);
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref _callersFailed);
                }
            }
        }, CancellationToken.None)).ToArray();
        _callerHistograms = histograms;
        _run = Task.Run(async () =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, ct);
            for (var i = 0; !linked.IsCancellationRequested; i++)
            {
                var request = Workload.AuthorizeCall(accounts[i % accounts.Count]);
                try
                {
                    await IngestDriver.TimedAsync(Health, () => health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), cancellationToken: ct).ResponseAsync);
                    await IngestDriver.TimedAsync(Latency, () => gate.AuthorizeAsync(request, headers, cancellationToken: ct).ResponseAsync);
                }
                catch (RpcException)
                {
                    Failed++;
                }

                try
                {
                    await Task.Delay(Interval, linked.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }, CancellationToken.None);
    }

    public LongHistogram Latency { get; } = IngestDriver.NewHistogram();

    public LongHistogram Health { get; } = IngestDriver.NewHistogram();

    public int Failed { get; private set; }

    private readonly LongHistogram[] _callerHistograms;
    private int _callersFailed;

    /// <summary>The mixed mode's callers: how many, their decisions per second, the latency of each call, and failures.</summary>
    public (int Callers, double PerSecond, LongHistogram Latency, int Failed) Callers
    {
        get
        {
            var latency = IngestDriver.NewHistogram();
            foreach (var h in _callerHistograms)
            {
                latency.Add(h);
            }

            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_started, _stopped == 0 ? System.Diagnostics.Stopwatch.GetTimestamp() : _stopped).TotalSeconds;
            return (_callerHistograms.Length, latency.TotalCount / seconds, latency, _callersFailed);
        }
    }

    /// <summary>Asks the gate about <paramref name="accounts"/> while <paramref name="run"/> runs, and stops when it ends.</summary>
    public static async Task<(T Result, GateProbe Probe)> BesideAsync<T>(Grpc.Net.Client.GrpcChannel channel, Metadata headers, IReadOnlyList<LoadAccount> accounts,
        Func<Task<T>> run, CancellationToken ct, int callers = 0)
    {
        var probe = new GateProbe(new Grpc.Health.V1.Health.HealthClient(channel), new ContactGateService.ContactGateServiceClient(channel), headers,
            Workload.GateAccounts(accounts, DateTimeOffset.UtcNow), callers, ct);
        try
        {
            return (await run(), probe);
        }
        finally
        {
            await probe.StopAsync();
        }
    }

    private async Task StopAsync()
    {
        await _stop.CancelAsync();
        _stopped = System.Diagnostics.Stopwatch.GetTimestamp();
        await _run;
        await Task.WhenAll(_callers);
        _stop.Dispose();
    }
}
