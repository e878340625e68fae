using Compliance.Server.Configuration;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Gate;

/// <summary>Releases reservations that no event confirmed in time (the dialer asked but never dialled), and logs each release.</summary>
internal sealed class ReservationReleaser(IGateStore store, Ingest.HistoryCache histories, IOptions<ComplianceOptions> options, TimeProvider clock, ILogger<ReservationReleaser> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Gate.ReleaseInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ReleaseOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Releasing lapsed reservations failed; will retry.");
            }
        }
    }

    internal async Task<int> ReleaseOnceAsync(CancellationToken ct)
    {
        var released = await store.ReleaseExpiredAsync(clock.GetUtcNow(), ct);
        foreach (var (lender, decision, borrower) in released)
        {
            histories.Invalidate(lender, borrower);
            logger.LogInformation("Released lapsed reservation {Decision} of lender {Lender}", decision, lender);
        }

        return released.Count;
    }
}
