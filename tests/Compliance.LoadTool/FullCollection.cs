using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Compliance.LoadTool;

/// <summary>
/// The server's live heap: a full blocking collection asked of its runtime through the diagnostics port (the runtime
/// collects when a session turns on its GC heap-collect keyword, as heap-dump tools do), then the bytes that survived
/// it, as the server exports them (<c>compliance.gc.live_heap</c>). The runtime's own "heap after the last collection"
/// also counts the garbage that waits in the oldest generation between its collections: in a soak it read 370 MB at
/// minute 12 when a heap dump a minute later found 291 MB live.
/// </summary>
internal static class FullCollection
{
    private const long GcKeyword = 0x1;
    private const long GcHeapCollectKeyword = 0x800000;

    /// <summary>Collects and returns the live heap in MB, or NaN when the server's reading did not change within 30 s.</summary>
    public static async Task<double> LiveHeapMbAsync(int pid, HttpClient http, Uri metrics, CancellationToken ct)
    {
        var before = (await MetricsScrape.ReadAsync(http, metrics, ct))?.FullCollections ?? 0;
        var client = new DiagnosticsClient(pid);
        using (var session = await client.StartEventPipeSessionAsync(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcKeyword | GcHeapCollectKeyword)], requestRundown: false, circularBufferMB: 16, ct))
        {
            var drained = session.EventStream.CopyToAsync(Stream.Null, ct);
            try
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
            }
            finally
            {
                await session.StopAsync(ct);
                await drained;
            }
        }
    }
}
