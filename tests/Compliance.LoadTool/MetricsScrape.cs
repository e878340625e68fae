using System.Globalization;

namespace Compliance.LoadTool;

/// <summary>
/// One read of the server's Prometheus scrape: each metric's samples summed over their labels (a heap's generations,
/// a counter's tags). The load tool reads the runtime's own figures this way, as an operator's Prometheus would.
/// </summary>
internal sealed class MetricsScrape
{
    private readonly Dictionary<string, double> _sums;

    private MetricsScrape(Dictionary<string, double> sums) => _sums = sums;

    /// <summary>The runtime's managed heap after its last collection, all generations (live objects, as of then).</summary>
    public double HeapMb => Sum("dotnet_gc_last_collection_heap_size_bytes") / 1048576.0;

    /// <summary>Memory the GC held committed after its last collection: the heap plus the room it keeps for allocation.</summary>
    public double GcCommittedMb => Sum("dotnet_gc_last_collection_memory_committed_size_bytes") / 1048576.0;

    /// <summary>SQLite's own memory in the server (page caches, statements).</summary>
    public double SqliteMb => Sum("compliance_store_sqlite_memory_bytes") / 1048576.0;

    /// <summary>Time the GC has paused the process since it started.</summary>
    public double GcPauseSeconds => Sum("dotnet_gc_pause_time_seconds_total");

    /// <summary>Collections since start, every generation.</summary>
    public double Collections => Sum("dotnet_gc_collections_total");

    public IEnumerable<string> Names => _sums.Keys;

    public double Sum(string name) => _sums.GetValueOrDefault(name);

    public static async Task<MetricsScrape?> ReadAsync(HttpClient http, Uri metrics, CancellationToken ct)
    {
        string text;
        try
        {
            text = await http.GetStringAsync(metrics, ct);
        }
        catch (HttpRequestException)
        {
            return null;
        }

        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            // name{labels} value [timestamp]: label values may hold spaces, so the value follows the closing brace.
            var close = line.LastIndexOf('}');
            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0)
            {
                continue;
            }

            var rest = line[((close > nameEnd ? close : nameEnd) + 1)..].Trim().Split(' ');
            if (double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                var name = line[..nameEnd];
                sums[name] = sums.GetValueOrDefault(name) + value;
            }
        }

        return new MetricsScrape(sums);
    }
}
