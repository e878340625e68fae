using System.Diagnostics;
using Compliance.Api.V1;
using Grpc.Core;
using HdrHistogram;

namespace Compliance.LoadTool;

/// <summary>
/// The gate's latency while the service ingests at full speed: one Authorize call every 20 ms (a dialer asking
/// beside the stream), each decided, recorded and reserved in the same store the ingest writer commits to.
/// </summary>
internal sealed class GateProbe
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private GateProbe(ContactGateService.ContactGateServiceClient gate, Metadata headers, IReadOnlyList<LoadAccount> accounts, CancellationToken ct)
    {
        _run = Task.Run(async () =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, ct);
            for (var i = 0; !linked.IsCancellationRequested; i++)
            {
                var request = Workload.AuthorizeCall(accounts[i % accounts.Count]);
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await gate.AuthorizeAsync(request, headers, cancellationToken: ct);
                    Latency.RecordValue(Stopwatch.GetTimestamp() - start);
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

    public int Failed { get; private set; }

    public static GateProbe Start(ContactGateService.ContactGateServiceClient gate, Metadata headers, IReadOnlyList<LoadAccount> accounts, CancellationToken ct) =>
        new(gate, headers, accounts.Any(a => a.InUnitedStates) ? accounts.Where(a => a.InUnitedStates).ToList() : accounts, ct);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _run;
        _stop.Dispose();
    }
}
