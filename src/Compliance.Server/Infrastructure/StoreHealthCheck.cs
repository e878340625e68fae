using Compliance.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Compliance.Server.Infrastructure;

/// <summary>The service is serving when its store answers.</summary>
internal sealed class StoreHealthCheck(IComplianceStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
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
