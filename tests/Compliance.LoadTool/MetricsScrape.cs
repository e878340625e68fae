using System.Globalization;

namespace Compliance.LoadTool;

/// <summary>
/// One read of the server's Prometheus scrape: each metric's samples summed over their labels (a heap's generations,
/// a counter's tags). The load tool reads the runtime's own figures this way, as an operator's Prometheus would.
/// </summary>
internal sealed class MetricsScrape
{
    private readonly Dictionary<string, double> _sums;

    // Histogram buckets as exported (cumulative counts), by metric, the value of the label that is not "le", and bound.
    private readonly Dictionary<(string Metric, string Label, double Le), double> _buckets;

    private MetricsScrape(Dictionary<string, double> sums, Dictionary<(string, string, double), double> buckets) => (_sums, _buckets) = (sums, buckets);

    /// <summary>The runtime's managed heap after its last collection, all generations (live objects, as of then).</summary>
    public double HeapMb => Sum("dotnet_gc_last_collection_heap_size_bytes") / 1048576.0;

    /// <summary>Memory the GC held committed after its last collection: the heap plus the room it keeps for allocation.</summary>
    public double GcCommittedMb => Sum("dotnet_gc_last_collection_memory_committed_size_bytes") / 1048576.0;

    /// <summary>SQLite's own memory in the server (page caches, statements).</summary>
    public double SqliteMb => Sum("compliance_store_sqlite_memory_bytes") / 1048576.0;

    /// <summary>What survived the server's last full blocking collection (0 before its first).</summary>
    public double LiveHeapMb => Sum("compliance_gc_live_heap_bytes") / 1048576.0;

    /// <summary>The number of the collection <see cref="LiveHeapMb"/> was measured at.</summary>
    public double FullCollections => Sum("compliance_gc_live_heap_collection");

    /// <summary>Time the GC has paused the process since it started.</summary>
    public double GcPauseSeconds => Sum("dotnet_gc_pause_time_seconds_total");

    /// <summary>Collections since start, every generation.</summary>
    public double Collections => Sum("dotnet_gc_collections_total");

    public IEnumerable<string> Names => _sums.Keys;

    public double Sum(string name) => _sums.GetValueOrDefault(name);

    /// <summary>
    /// A histogram's observations between <paramref name="previous"/> and this scrape, per value of its
    /// <paramref name="label"/>: the count, the bound under which 99 % fell and the bound of the highest bucket reached
    /// (seconds; infinity past the last bound).
    /// </summary>
    public IEnumerable<(string Label, double Count, double P99, double Max)> Since(MetricsScrape previous, string histogram, string label)
    {
        var metric = histogram + "_bucket";
        foreach (var group in _buckets.Keys.Where(k => k.Metric == metric && k.Label.StartsWith(label + "=", StringComparison.Ordinal)).GroupBy(k => k.Label).OrderBy(g => g.Key))
        {
            var bounds = group.Select(k => k.Le).Order().ToList();
            var counts = bounds.Select(le => _buckets[(metric, group.Key, le)] - previous._buckets.GetValueOrDefault((metric, group.Key, le))).ToList();
            var total = counts[^1];
            if (total <= 0)
            {
                continue;
            }

            var p99 = bounds[counts.FindIndex(c => c >= total * 0.99)];
            var max = bounds[counts.FindIndex(c => c >= total)];
            yield return (group.Key[(label.Length + 1)..], total, p99, max);
        }
    }

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
        var buckets = new Dictionary<(string, string, double), double>();
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
                if (name.EndsWith("_bucket", StringComparison.Ordinal) && close > nameEnd && Bucket(line[(nameEnd + 1)..close]) is var (label, le))
                {
                    buckets[(name, label, le)] = buckets.GetValueOrDefault((name, label, le)) + value;
                }
            }
        }

        return new MetricsScrape(sums, buckets);
    }

    /// <summary>A bucket's labels: the one that tells its series apart (as name=value, otel's scope labels aside) and its bound.</summary>
    private static (string Label, double Le)? Bucket(string labels)
    {
        string series = "";
        double? le = null;
        foreach (var pair in labels.Split(','))
        {
            var at = pair.IndexOf('=');
            if (at <= 0)
            {
                continue;
            }

            var (key, value) = (pair[..at].Trim(), pair[(at + 1)..].Trim().Trim('"'));
            if (key == "le")
            {
                le = value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture);
            }
            else if (!key.StartsWith("otel_", StringComparison.Ordinal))
            {
                series = $"{key}={value}";
            }
        }

        return le is { } bound ? (series, bound) : null;
    }
}
