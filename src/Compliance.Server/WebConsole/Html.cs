using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Compliance.Server.WebConsole;

/// <summary>
/// Markup in which every interpolated value was HTML-encoded, unless it was markup already: pages are written as
/// <c>Html.Of($"&lt;td&gt;{complaint.Text}&lt;/td&gt;")</c> and cannot forget to escape.
/// </summary>
internal readonly struct Html(string? value)
{
    /// <summary>Encodes markup characters (and quotes, so values are safe in attributes too); other text stays readable.</summary>
    public static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static Html Empty => default;

    public string Value => value ?? "";

    public static Html Of(HtmlHandler handler) => handler.ToHtml();

    public static Html Join(IEnumerable<Html> parts) => new(string.Concat(parts.Select(p => p.Value)));

    public static Html When(bool condition, Html html) => condition ? html : Empty;

    public override string ToString() => Value;
}

/// <summary>Builds <see cref="Html"/> from an interpolated string, encoding the holes.</summary>
[InterpolatedStringHandler]
internal ref struct HtmlHandler(int literalLength, int formattedCount)
{
    private DefaultInterpolatedStringHandler _text = new(literalLength, formattedCount, CultureInfo.InvariantCulture);

    public void AppendLiteral(string literal) => _text.AppendLiteral(literal);

    public void AppendFormatted(Html html) => _text.AppendLiteral(html.Value);

    public void AppendFormatted<T>(T value) => _text.AppendLiteral(Html.Encoder.Encode(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""));

    public void AppendFormatted<T>(T value, string format) where T : IFormattable =>
        _text.AppendLiteral(Html.Encoder.Encode(value.ToString(format, CultureInfo.InvariantCulture)));

    public Html ToHtml() => new(_text.ToStringAndClear());
}
