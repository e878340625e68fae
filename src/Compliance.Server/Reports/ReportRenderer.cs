using System.Globalization;
using System.IO.Compression;
using System.Text;
using CsvHelper;

namespace Compliance.Server.Reports;

/// <summary>The formats a report is rendered in.</summary>
public enum ReportFormat
{
    Json = 1,
    Csv = 2,
    Html = 3,
}

/// <summary>A rendered report.</summary>
public sealed record RenderedReport(byte[] Content, string ContentType, string FileName);

/// <summary>What the ledger says about a report when it is rendered: shown as the badge of the HTML page.</summary>
public sealed record ReportVerification(bool Verified, long EntrySeq, string ContentSha256, long? CheckpointSeq, string Text);

/// <summary>A table of a report by name, as CSV renders it (one file each).</summary>
public sealed class UnknownReportTableException(string table, IEnumerable<string> tables)
    : Exception($"The report has no table '{table}'; it has: {string.Join(", ", tables)}.");

/// <summary>
/// Renders a built report: the stored JSON as it is (its SHA-256 is the one in the ledger), CSV (one file per table,
/// zipped, or one table), or one self-contained HTML page. Independent of gRPC, so any front end can use it.
/// </summary>
public static class ReportRenderer
{
    public static RenderedReport Render(ReportDocument document, string json, ReportFormat format, string? table, ReportVerification verification) => format switch
    {
        ReportFormat.Json => new RenderedReport(Encoding.UTF8.GetBytes(json), "application/json", $"{document.ReportId}.json"),
        ReportFormat.Csv => Csv(document, table),
        ReportFormat.Html => new RenderedReport(Encoding.UTF8.GetBytes(HtmlReport.Render(document, verification)), "text/html; charset=utf-8", $"{document.ReportId}.html"),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>The report's tables by name, those its kind carries.</summary>
    public static IReadOnlyDictionary<string, Action<CsvWriter>> Tables(ReportDocument d)
    {
        var tables = new Dictionary<string, Action<CsvWriter>>(StringComparer.Ordinal)
        {
            ["totals"] = Rows(new[] { d.Totals }),
            ["policy_versions"] = Rows(d.PolicyVersions.Select(v => new { Version = v })),
            ["rules"] = Rows(d.Rules),
            ["series"] = Rows(d.Series),
        };
        Add(tables, "collectors", d.Collectors);
        Add(tables, "agencies", d.Agencies);
        Add(tables, "incidents", d.Incidents);
        Add(tables, "complaints", d.Complaints);
        Add(tables, "frequency_exceptions", d.FrequencyExceptions);
        Add(tables, "contact_log", d.ContactLog);
        if (d.SafeHarbor is { } s)
        {
            tables["safe_harbor"] = Rows(s.Rules.SelectMany(r => r.Windows.Select(w => new
            {
                r.Profile, r.RuleId, r.Citation, r.Shadow, r.MaxAttempts, r.WindowDays, r.Channels,
                w.FirstDay, w.LastDay, w.Calls, w.Conversations, w.Violations, w.OverLimit,
            })));
        }

        return tables;
    }

    /// <summary>One header of the row type's property names, then one record per row; times in ISO 8601 (UTC), numbers invariant.</summary>
    private static Action<CsvWriter> Rows<T>(IEnumerable<T> rows) => csv =>
    {
        var properties = typeof(T).GetProperties();
        csv.WriteHeader(properties.Select(p => p.Name).ToArray());
        foreach (var row in rows)
        {
            foreach (var property in properties)
            {
                csv.WriteField(property.GetValue(row) switch
                {
                    null => "",
                    DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                    bool b => b ? "true" : "false",
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    var v => v.ToString() ?? "",
                });
            }

            csv.EndRecord();
        }
    };

    private static void Add<T>(Dictionary<string, Action<CsvWriter>> tables, string name, IReadOnlyList<T>? rows)
    {
        if (rows is not null)
        {
            tables[name] = Rows(rows);
        }
    }

    private static RenderedReport Csv(ReportDocument document, string? table)
    {
        var tables = Tables(document);
        if (!string.IsNullOrEmpty(table))
        {
            if (!tables.TryGetValue(table, out var rows))
            {
                throw new UnknownReportTableException(table, tables.Keys);
            }

            return new RenderedReport(CsvBytes(rows), "text/csv; charset=utf-8", $"{document.ReportId}-{table}.csv");
        }

        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, rows) in tables)
            {
                // A fixed time keeps the zip of one report the same bytes whenever it is rendered.
                var entry = zip.CreateEntry($"{name}.csv", CompressionLevel.Optimal);
                entry.LastWriteTime = document.BuiltAt;
                using var stream = entry.Open();
                stream.Write(CsvBytes(rows));
            }
        }

        return new RenderedReport(buffer.ToArray(), "application/zip", $"{document.ReportId}-csv.zip");
    }

    private static byte[] CsvBytes(Action<CsvWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new StreamWriter(buffer, new UTF8Encoding(false), leaveOpen: true))
        using (var csv = CsvWriter.Create(writer, CsvWriterOptions.Default, leaveOpen: false))
        {
            write(csv);
        }

        return buffer.ToArray();
    }
}
