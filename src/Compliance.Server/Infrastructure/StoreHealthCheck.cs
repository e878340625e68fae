using Compliance.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Compliance.Server.Infrastructure;

/// <summary>The service is serving when its store answers, its last write went through, and it signs every lender's chain
/// (it refuses to sign a chain cut, rolled back or stripped of checkpoints: see LedgerAuditor).</summary>
internal sealed class StoreHealthCheck(IComplianceStore store, WriteHealth writes, Audit.LedgerIntegrity ledger) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (writes.Failing)
        {
            return HealthCheckResult.Unhealthy("the store refuses writes");
        }

        if (ledger.Any is { } problem)
        {
            return HealthCheckResult.Unhealthy(problem);
        }

        try
        {
            return await store.PingAsync(ct) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("store did not answer");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("store unreachable", e);
        }
    }
}
