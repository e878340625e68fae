using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Compliance.Cli.Commands;

/// <summary>Reads the ISO 8601 times people type for --at, --from and the like.</summary>
internal static class TimeInput
{
    /// <summary>An ISO 8601 time option; times without an offset are read as UTC, so a script means the same everywhere.</summary>
    public static Option<DateTimeOffset?> Option(string name, string description) => new(name)
    {
        Description = description + " ISO 8601, for example 2026-12-31T17:00:00Z; without an offset, UTC.",
        HelpName = "time",
        CustomParser = Parse,
    };

    /// <summary>The option's value as a protobuf timestamp, or null when it was not given.</summary>
    public static Google.Protobuf.WellKnownTypes.Timestamp? Value(ParseResult parse, Option<DateTimeOffset?> option) =>
        parse.GetValue(option) is { } value ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(value) : null;

    private static DateTimeOffset? Parse(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
        {
            return value;
        }

        result.AddError($"'{text}' is not an ISO 8601 time such as 2026-12-31T17:00:00Z.");
        return null;
    }
}
