using Compliance.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Compliance.Server.Infrastructure;

/// <summary>The service is serving when its store answers and its last write went through.</summary>
internal sealed class StoreHealthCheck(IComplianceStore store, WriteHealth writes) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (writes.Failing)
        {
            return HealthCheckResult.Unhealthy("the store refuses writes");
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
