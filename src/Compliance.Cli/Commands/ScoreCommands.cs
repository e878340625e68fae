using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance scores ...</c>: rolling conduct scores of collectors and agencies and the harassment risk of accounts, with the events behind them.</summary>
internal static class ScoreCommands
{
    private const int MaxLimit = 500;
    private const int TopRules = 3;

    private static readonly Scope[] Scopes =
    [
        new(ScoreScope.Collector, "collector", "collectors", "mean risk per event",
            "The score is the collector's mean risk per event: the summed risk of the collector's events in the window divided by their number."),
        new(ScoreScope.Agency, "agency", "agencies", "mean risk per event",
            "The score is the agency's mean risk per event: the summed risk of the events of all its collectors in the window divided by their number."),
        new(ScoreScope.Account, "account", "accounts", "harassment risk",
            "The score is the account's harassment risk: the summed risk of the events about the account in the window, capped at 100, "
            + "so a few serious breaches against one borrower reach the top."),
    ];

    public static Command Create()
    {
        var command = new Command(
            "scores",
            "Rank collectors, agencies and accounts by their conduct over a rolling window, or explain one score by the rules broken and the riskiest events. "
            + "Scores run from 0 (no concern) to 100; each event's risk (0 to 100) adds up the weights of the rules it broke, by severity. "
            + "Uses the compliance officer key.");
        foreach (var scope in Scopes)
        {
            command.Subcommands.Add(Rank(scope));
            command.Subcommands.Add(Explain(scope));
        }

        return command;
    }

    private static Command Rank(Scope scope)
    {
        var window = WindowOption();
        var limit = LimitOption();
        var command = new Command(
            scope.Plural,
            $"Rank the {scope.Plural} with events in the window, worst first: score, events, events with violations, total risk and the {TopRules} rules "
            + $"broken most often. {scope.Meaning}")
        {
            window, limit,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new GetConductScoresRequest
            {
                Scope = scope.Value,
                Window = WindowValue(parse, window),
                Limit = parse.GetValue(limit) ?? 0,
            };
            var response = await ctx.Report.GetConductScoresAsync(request, ctx.Call);
            ctx.Output.Print(response, w =>
            {
                if (response.Scores.Count == 0)
                {
                    return;
                }

                w.WriteLine($"{Capitalized(scope.Plural)} by {scope.Measure}, worst first, {WindowText(response)}:");
                var table = new TextTable(scope.Column, "SCORE", "EVENTS", "WITH VIOLATIONS", "TOTAL RISK", "TOP RULES");
                foreach (var s in response.Scores)
                {
                    table.Add(s.Id, Number(s.Score), Count(s.Events), Count(s.EventsWithViolations), Number(s.TotalRisk), RuleSummary(s));
                }

                table.WriteTo(w);
            });
            if (!ctx.Output.IsJson && response.Scores.Count == 0)
            {
                ctx.Output.Note($"No {scope.Singular} has events in the window, {WindowText(response)}.");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Duration? WindowValue(ParseResult parse, Option<TimeSpan?> window) =>
        parse.GetValue(window) is { } value ? Duration.FromTimeSpan(value) : null;

    private static Command Explain(Scope scope)
    {
        var id = new Argument<string>($"{scope.Singular}-id") { Description = $"The {scope.Singular} whose score to explain." };
        var window = WindowOption();
        var command = new Command(
            scope.Singular,
            $"Explain one {scope.Singular}'s score: the score with its events, events with violations and total risk, the rules broken with the number "
            + $"of events that broke each, and the riskiest events (time, event, risk, account, collector, rules). {scope.Meaning}")
        {
            id, window,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new GetConductScoresRequest
            {
                Scope = scope.Value,
                Id = parse.GetValue(id),
                Window = WindowValue(parse, window),
            };
            var response = await ctx.Report.GetConductScoresAsync(request, ctx.Call);
            // The server answers a score for any id, zero when it has no events; this only guards against one that does not.
            var score = response.Scores.FirstOrDefault() ?? new ConductScore { Scope = scope.Value, Id = request.Id };
            ctx.Output.Print(response, w => WriteScore(w, scope, score, response));
            if (!ctx.Output.IsJson && score.TopEvents.Count < score.EventsWithViolations)
            {
                ctx.Output.Note($"Only the {score.TopEvents.Count} riskiest of the {score.EventsWithViolations} events with violations are listed.");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The score leads, then what it is made of: the counts, the rules, and the events a reviewer would open first.</summary>
    private static void WriteScore(TextWriter w, Scope scope, ConductScore s, GetConductScoresResponse response)
    {
        w.WriteLine($"{scope.Column} {s.Id}: {Number(s.Score)} of 100 ({scope.Measure})");
        TextTable.WriteProperties(w,
            ("window", WindowText(response)),
            ("events", Count(s.Events)),
            ("with violations", Count(s.EventsWithViolations)),
            ("total risk", Number(s.TotalRisk)));
        if (s.Events == 0)
        {
            w.WriteLine();
            w.WriteLine($"No events of this {scope.Singular} in the window.");
            return;
        }

        if (s.ViolationsByRule.Count > 0)
        {
            w.WriteLine();
            var rules = new TextTable("RULE", "EVENTS");
            foreach (var (rule, count) in RulesByCount(s))
            {
                rules.Add(rule, Count(count));
            }

            rules.WriteTo(w);
        }

        if (s.TopEvents.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("Riskiest events:");
            var events = new TextTable("TIME", "EVENT", "RISK", "ACCOUNT", "COLLECTOR", "RULES");
            foreach (var e in s.TopEvents)
            {
                events.Add(Output.Time(e.OccurredAt), e.EventId, Number(e.RiskScore), e.AccountId, e.CollectorId, string.Join(",", e.RuleIds));
            }

            events.WriteTo(w);
        }
    }

    /// <summary>"R1 (12), R2 (3), R3 (1), +2 more": the rules a reviewer should look at first, without widening the table past a line.</summary>
    private static string RuleSummary(ConductScore s)
    {
        var rules = RulesByCount(s);
        var shown = string.Join(", ", rules.Take(TopRules).Select(r => $"{r.Rule} ({Count(r.Count)})"));
        return rules.Count > TopRules ? $"{shown}, +{rules.Count - TopRules} more" : shown;
    }

    private static List<(string Rule, long Count)> RulesByCount(ConductScore s) =>
        [.. s.ViolationsByRule.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => (r.Key, r.Value))];

    private static string WindowText(GetConductScoresResponse response) =>
        $"{Output.Time(response.WindowStart)} to {Output.Time(response.WindowEnd)}";

    private static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Capitalized(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static Option<TimeSpan?> WindowOption() => new("--window")
    {
        Description = "How far back from now to look: a number with d, h, m or s (7d, 24h, 90m), or a TimeSpan such as 7.00:00:00. "
            + "Default: 30d. At most 400 days.",
        HelpName = "span",
        CustomParser = ParseWindow,
    };

    private static Option<int?> LimitOption()
    {
        var option = new Option<int?>("--limit") { Description = $"At most this many, worst first (1 to {MaxLimit}). Default: 20.", HelpName = "n" };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1 or > MaxLimit)
            {
                result.AddError($"--limit must be between 1 and {MaxLimit}.");
            }
        });
        return option;
    }

    private static TimeSpan? ParseWindow(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value.Trim();
        if (text.Length > 0 && text.All(char.IsAsciiDigit))
        {
            result.AddError($"--window '{text}' needs a unit: {text}d, {text}h, {text}m or {text}s.");
            return null;
        }

        if (!TryParseWindow(text, out var window))
        {
            result.AddError($"--window '{text}' is not a span such as 7d, 24h, 90m or 7.00:00:00.");
            return null;
        }

        if (window <= TimeSpan.Zero)
        {
            result.AddError($"--window must be longer than zero, not '{text}'.");
            return null;
        }

        return window;
    }

    private static bool TryParseWindow(string text, out TimeSpan window)
    {
        window = default;
        if (text.Length > 1 && UnitOf(text[^1]) is { } unit)
        {
            if (!long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                || count > TimeSpan.MaxValue.Ticks / unit.Ticks)
            {
                return false;
            }

            window = TimeSpan.FromTicks(count * unit.Ticks);
            return true;
        }

        // A bare number is days to TimeSpan but minutes or seconds to many people, so only the forms with a colon are read as a TimeSpan.
        return text.Contains(':') && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out window);
    }

    private static TimeSpan? UnitOf(char suffix) => char.ToLowerInvariant(suffix) switch
    {
        'd' => TimeSpan.FromDays(1),
        'h' => TimeSpan.FromHours(1),
        'm' => TimeSpan.FromMinutes(1),
        's' => TimeSpan.FromSeconds(1),
        _ => null,
    };

    /// <summary>The words and help text of one score scope, so the three pairs of commands read the same.</summary>
    private sealed record Scope(ScoreScope Value, string Singular, string Plural, string Measure, string Meaning)
    {
        public string Column => Singular.ToUpperInvariant();
    }
}
