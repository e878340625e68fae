using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Compliance.LoadTool;

/// <summary>
/// A full blocking collection asked of a server's runtime through its diagnostics port: the runtime collects when a
/// session turns on its GC heap-collect keyword, as heap-dump tools do. What survived it the server exports
/// (<c>compliance.gc.live_heap</c>). The runtime's own "heap after the last collection" also counts the garbage that
/// waits in the oldest generation between its collections: in a soak it read 370 MB at minute 12 when a heap dump a
/// minute later found 291 MB live.
/// </summary>
internal static partial class FullCollection
{
    private const long GcKeyword = 0x1;
    private const long GcHeapCollectKeyword = 0x800000;

    /// <summary>Asks for the collection and keeps the session open until <paramref name="collected"/> has seen it.</summary>
    public static async Task<T> InduceAsync<T>(int pid, Func<Task<T>> collected, CancellationToken ct)
    {
        var client = new DiagnosticsClient(pid);
        using var session = await client.StartEventPipeSessionAsync(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcKeyword | GcHeapCollectKeyword)], requestRundown: false, circularBufferMB: 16, ct);
        var drained = session.EventStream.CopyToAsync(Stream.Null, ct);
        try
        {
            return await collected();
        }
        finally
        {
            await session.StopAsync(ct);
            await drained;
        }
    }
}
