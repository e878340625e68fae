namespace Compliance.LoadTool;

internal static partial class FullCollection
{
    /// <summary>Collects and returns the live heap in MB, or NaN when the server's reading did not change within 30 s.</summary>
    public static async Task<double> LiveHeapMbAsync(int pid, HttpClient http, Uri metrics, CancellationToken ct)
    {
        var before = (await MetricsScrape.ReadAsync(http, metrics, ct))?.FullCollections ?? 0;
        return await InduceAsync(pid, async () =>
        {
            for (var waited = 0; waited < 60; waited++)
            {
                if ((await MetricsScrape.ReadAsync(http, metrics, ct)) is { } scrape && scrape.FullCollections > before)
                {
                    return scrape.LiveHeapMb;
                }

                await Task.Delay(500, ct);
            }

            return double.NaN;
        }, ct);
    }
}
