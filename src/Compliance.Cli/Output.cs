using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Cli;

/// <summary>Prints results as aligned tables for people or as protobuf JSON for scripts.</summary>
internal sealed class Output(bool json, TextWriter writer, TextWriter notes)
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithIndentation());

    public bool IsJson => json;

    /// <summary>Prints the message as JSON, or runs the table renderer.</summary>
    public void Print(IMessage message, Action<TextWriter> table)
    {
        if (json)
        {
            writer.WriteLine(Formatter.Format(message));
        }
        else
        {
            table(writer);
        }
    }

    /// <summary>A remark for the person (what happened, what to do next). On stderr, so that stdout stays parseable.</summary>
    public void Note(string text) => notes.WriteLine(text);

    public static string Time(Timestamp? time) =>
        time is null ? "" : time.ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static string YesNo(bool value) => value ? "yes" : "no";
}

/// <summary>A text table with columns padded to their widest cell.</summary>
internal sealed class TextTable
{
    private readonly List<string[]> _rows = [];
    private readonly string[]? _headers;

    /// <summary>A table with a header row.</summary>
    public TextTable(params string[] headers) => _headers = headers.Length > 0 ? headers : null;

    public int Count => _rows.Count;

    public TextTable Add(params string?[] cells)
    {
        _rows.Add([.. cells.Select(c => c ?? "")]);
        return this;
    }

    public void WriteTo(TextWriter writer)
    {
        var all = _headers is null ? _rows : [_headers, .. _rows];
        if (all.Count == 0)
        {
            return;
        }

        var columns = all.Max(r => r.Length);
        var widths = Enumerable.Range(0, columns).Select(i => all.Max(r => i < r.Length ? r[i].Length : 0)).ToArray();
        foreach (var row in all)
        {
            var cells = row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]));
            writer.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }

    /// <summary>Name/value pairs, one per line, values aligned; empty values are left out.</summary>
    public static void WriteProperties(TextWriter writer, params (string Name, string? Value)[] properties)
    {
        var table = new TextTable();
        foreach (var (name, value) in properties.Where(p => !string.IsNullOrEmpty(p.Value)))
        {
            table.Add(name, value);
        }

        table.WriteTo(writer);
    }
}
