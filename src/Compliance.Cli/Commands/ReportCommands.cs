using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance report ...</c>: period reports (daily summary, weekly scorecard, monthly audit report, examiner exports, safe-harbour statements).</summary>
internal static class ReportCommands
{
    private static readonly WordMap<ReportKind> Kinds = new(
        ("daily", ReportKind.Daily),
        ("weekly", ReportKind.Weekly),
        ("monthly", ReportKind.Monthly),
        ("period", ReportKind.Period),
        ("examiner", ReportKind.ExaminerExport),
        ("safe-harbor", ReportKind.SafeHarbor));

    private static readonly WordMap<ReportFormat> Formats = new(
        ("json", ReportFormat.Json),
        ("csv", ReportFormat.Csv),
        ("html", ReportFormat.Html));

    public static Command Create()
    {
        var command = new Command(
            "report",
            "Period reports, issued once and recorded in the ledger with the SHA-256 of their content: the daily compliance summary, the weekly "
            + "scorecard per collector and agency, the monthly audit report (built on a schedule in the lender's reporting zone), and on request any "
            + "period, an examiner export (contact log, complaint log, frequency exceptions) or an account's safe-harbour statement under 12 CFR "
            + "1006.14(b)(2). Uses the auditor key (run uses the compliance officer key); collection-system keys may not read reports.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(Run());
        command.Subcommands.Add(Settings());
        return command;
    }

    private static Option<string?> KindOption(string description, bool required) =>
        new Option<string?>("--kind") { Description = description, Required = required }.AcceptOnlyFromAmong([.. Kinds.Words]);

    private static Command List()
    {
        var kind = KindOption("Only reports of this kind. Default: all.", required: false);
        var pageSize = new Option<int>("--page-size") { Description = "Reports per page. Default: the server's (100)." };
        var pageToken = new Option<string?>("--page-token") { Description = "Continue from a previous page." };
        var all = new Option<bool>("--all") { Description = "Read every page." };
        var command = new Command("list", "List issued reports, newest first within each kind, with their headline figures.") { kind, pageSize, pageToken, all };
        command.SetAction(CommandRunner.Run(KeyRole.Auditor, async (parse, ctx) =>
        {
            var first = new PageRequest { PageSize = parse.GetValue(pageSize), PageToken = parse.GetValue(pageToken) ?? "" };
            var (reports, next) = await Pages.ReadAsync<Report>(first, parse.GetValue(all), async page =>
            {
                var request = new ListReportsRequest
                {
                    Kind = parse.GetValue(kind) is { } k ? Kinds.Parse(k) : ReportKind.Unspecified,
                    PageSize = page.PageSize,
                    PageToken = page.PageToken,
                };
                var response = await ctx.Report.ListReportsAsync(request, ctx.Call);
                return (response.Reports, response.NextPageToken);
            });
            ctx.Output.Print(new ListReportsResponse { Reports = { reports }, NextPageToken = next }, w =>
            {
                var table = new TextTable("REPORT", "KIND", "PERIOD START", "PERIOD END", "ZONE", "DECISIONS", "DENIED", "EVENTS", "VIOLATIONS", "INCIDENTS", "ISSUED");
                foreach (var r in reports)
                {
                    var s = r.Summary ?? new ReportSummary();
                    table.Add(r.ReportId, Kinds.Name(r.Kind), Output.Time(r.PeriodStart), Output.Time(r.PeriodEnd), r.TimeZone, Count(s.Decisions), Count(s.Denied),
                        r.Empty ? "empty" : Count(s.Events), Count(s.Violations), Count(s.Incidents), Output.Time(r.CreatedAt));
                }

                table.WriteTo(w);
            });
            if (!ctx.Output.IsJson && reports.Count == 0)
            {
                ctx.Output.Note("No report has been issued yet.");
            }

            if (!ctx.Output.IsJson && next.Length > 0)
            {
                ctx.Output.Note($"More reports follow: --page-token {next}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static (Option<string> Format, Option<string?> Table, Option<string?> Out, Option<bool> Open) RenderOptions() => (
        new Option<string>("--format") { Description = "json (the exact content the ledger's hash covers), csv (a zip of one file per table, or one table with --table) or html (one self-contained page).", DefaultValueFactory = _ => "json" }
            .AcceptOnlyFromAmong([.. Formats.Words]),
        new Option<string?>("--table") { Description = "CSV only: just this table (e.g. rules, collectors, contact_log), as one .csv file." },
        new Option<string?>("--out") { Description = "Write the report to this file. Default: standard output for JSON, else <report-id>.<ext> in the current folder.", HelpName = "path" },
        new Option<bool>("--open") { Description = "Open the written file with the system's default application (a browser for HTML)." });

    private static Command Get()
    {
        var id = new Argument<string>("report-id") { Description = "The report's id, as 'report list' or 'report run' prints it (e.g. daily-2026-12-05)." };
        var (format, table, output, open) = RenderOptions();
        var command = new Command("get", "Fetch a report rendered as JSON, CSV or HTML. The HTML page carries a badge saying whether the ledger vouches for its content.")
        {
            id, format, table, output, open,
        };
        command.SetAction(CommandRunner.Run(KeyRole.Auditor, async (parse, ctx) =>
            await FetchAsync(ctx, parse.GetValue(id)!, parse.GetValue(format)!, parse.GetValue(table), parse.GetValue(output), parse.GetValue(open))));
        return command;
    }

    private static async Task<int> FetchAsync(ClientContext ctx, string reportId, string format, string? table, string? output, bool open)
    {
        var request = new GetReportRequest { ReportId = reportId, Format = Formats.Parse(format), Table = table ?? "" };
        var response = await ctx.Report.GetReportAsync(request, ctx.StreamCall);
        var extension = response.ContentType switch
        {
            var t when t.StartsWith("application/json", StringComparison.Ordinal) => "json",
            var t when t.StartsWith("application/zip", StringComparison.Ordinal) => "zip",
            var t when t.StartsWith("text/csv", StringComparison.Ordinal) => "csv",
            _ => "html",
        };
        if (output is null && extension == "json" && !open)
        {
            using var stdout = Console.OpenStandardOutput();
            response.Content.WriteTo(stdout);
            return ExitCodes.Ok;
        }

        var path = output ?? $"{reportId}{(table is { Length: > 0 } ? "-" + table : "")}.{extension}";
        await File.WriteAllBytesAsync(path, response.Content.ToByteArray(), ctx.CancellationToken);
        ctx.Output.Note($"Wrote {path} ({response.Content.Length:N0} bytes, {response.ContentType}); content SHA-256 {response.Report.ContentSha256} "
            + $"(ledger entry {response.Report.LedgerEntrySequence}).");
        if (open)
        {
            Open(path);
        }

        return ExitCodes.Ok;
    }

    private static void Open(string path)
    {
        var full = Path.GetFullPath(path);
        var (file, args) = OperatingSystem.IsWindows() ? ("cmd", $"/c start \"\" \"{full}\"") : OperatingSystem.IsMacOS() ? ("open", $"\"{full}\"") : ("xdg-open", $"\"{full}\"");
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"Could not open {full}: no '{file}' here. Open it yourself.");
        }
    }

    private static Command Run()
    {
        var kind = KindOption("Which report.", required: true);
        var date = new Option<string?>("--date")
        {
            Description = "daily, weekly, monthly: a date in the period, in the lender's reporting zone (e.g. 2026-12-05; a week runs Monday to Sunday). Default: the last complete period.",
            HelpName = "yyyy-mm-dd",
        };
        var from = TimeInput.Option("--from", "period, examiner, safe-harbor: the start of the period.");
        var to = TimeInput.Option("--to", "period, examiner, safe-harbor: the end of the period (exclusive).");
        var account = new Option<string?>("--account") { Description = "safe-harbor: the account the statement is about.", HelpName = "account-id" };
        var (format, table, output, open) = RenderOptions();
        var fetch = new Option<bool>("--fetch") { Description = "Fetch the report after it is issued (with --format, --table, --out, --open)." };
        var command = new Command(
            "run",
            "Issue a report for a period that is over, or get the one already issued (a report is issued once and never changes). Shows progress while it is built. "
            + "Uses the compliance officer key.")
        {
            kind, date, from, to, account, format, table, output, open, fetch,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var reportKind = Kinds.Parse(parse.GetValue(kind)!);
            var request = new RunReportRequest { Kind = reportKind, AccountId = parse.GetValue(account) ?? "" };
            if (reportKind is ReportKind.Daily or ReportKind.Weekly or ReportKind.Monthly)
            {
                var zoneId = (await ctx.Report.GetReportSettingsAsync(new GetReportSettingsRequest(), ctx.Call)).Settings.TimeZone;
                var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
                var day = parse.GetValue(date) is { } text
                    ? DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : throw new UsageException($"'{text}' is not a date such as 2026-12-05.")
                    : LastComplete(reportKind, DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone).DateTime));
                var noon = day.ToDateTime(new TimeOnly(12, 0));
                request.PeriodStart = Timestamp.FromDateTimeOffset(new DateTimeOffset(noon, zone.GetUtcOffset(noon)));
            }
            else
            {
                request.PeriodStart = TimeInput.Value(parse, from) ?? throw new UsageException("Give the period with --from and --to.");
                request.PeriodEnd = TimeInput.Value(parse, to) ?? throw new UsageException("Give the period with --from and --to.");
            }

            var response = await WithProgressAsync(ctx, request, ctx.Report.RunReportAsync(request, ctx.StreamCall).ResponseAsync);
            var r = response.Report;
            var s = r.Summary ?? new ReportSummary();
            ctx.Output.Print(response, w => TextTable.WriteProperties(w,
                ("Report", r.ReportId),
                ("Issued", response.AlreadyIssued ? $"{Output.Time(r.CreatedAt)} (already issued; this is that report)" : Output.Time(r.CreatedAt)),
                ("Period", $"{Output.Time(r.PeriodStart)} to {Output.Time(r.PeriodEnd)} ({r.TimeZone})"),
                ("Built up to", $"ledger entry {r.LedgerSequence}"),
                ("Ledger entry", $"{r.LedgerEntrySequence}, content SHA-256 {r.ContentSha256}"),
                ("Figures", r.Empty ? "empty: nothing was recorded in the period" : $"{s.Decisions} decisions ({s.Denied} denied), {s.Events} events, {s.Violations} violations, {s.Incidents} incidents, {s.ThirdPartyContacts} third-party contacts"),
                ("Policy versions", string.Join("; ", r.PolicyVersions))));
            return parse.GetValue(fetch) || parse.GetValue(open) || parse.GetValue(output) is not null
                ? await FetchAsync(ctx, r.ReportId, parse.GetValue(format)!, parse.GetValue(table), parse.GetValue(output), parse.GetValue(open))
                : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The last day, week or month that is over on <paramref name="today"/>.</summary>
    private static DateOnly LastComplete(ReportKind kind, DateOnly today) => kind switch
    {
        ReportKind.Daily => today.AddDays(-1),
        ReportKind.Weekly => today.AddDays(-7),
        _ => today.AddMonths(-1),
    };

    /// <summary>
    /// While the report is built, asks the service once a second how far the build has come and shows it on standard
    /// error: events counted of the period's total, and the time taken (a line per second where standard error is no
    /// terminal, so a log shows the build moving).
    /// </summary>
    private static async Task<T> WithProgressAsync<T>(ClientContext ctx, RunReportRequest request, Task<T> call)
    {
        if (ctx.Output.IsJson)
        {
            return await call;
        }

        var terminal = !Console.IsErrorRedirected;
        var watch = Stopwatch.StartNew();
        var shown = false;
        while (await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(1), ctx.CancellationToken)) != call)
        {
            GetReportProgressResponse progress;
            try
            {
                progress = await ctx.Report.GetReportProgressAsync(new GetReportProgressRequest { Run = request }, ctx.Call);
            }
            catch (RpcException) when (!call.IsCompleted)
            {
                // A service without progress (or a refusal the run itself will report): keep waiting on the run.
                continue;
            }

            var line = progress.State switch
            {
                ReportBuildState.Building when progress.EventsTotal > 0 =>
                    $"Building {progress.ReportId}: {Count(progress.EventsCounted)} of {Count(progress.EventsTotal)} events "
                    + $"({100.0 * progress.EventsCounted / progress.EventsTotal:0}%), {watch.Elapsed.TotalSeconds:0} s",
                ReportBuildState.Building => $"Building {progress.ReportId}: counting the period's events, {watch.Elapsed.TotalSeconds:0} s",
                ReportBuildState.Issued => $"Issued {progress.ReportId}, {watch.Elapsed.TotalSeconds:0} s",
                _ => $"Waiting to build {progress.ReportId}, {watch.Elapsed.TotalSeconds:0} s",
            };
            if (terminal)
            {
                Console.Error.Write($"\r{line}          ");
            }
            else
            {
                Console.Error.WriteLine(line);
            }

            shown = true;
        }

        if (shown)
        {
            Console.Error.WriteLine(terminal ? $"\rBuilt in {watch.Elapsed.TotalSeconds:0.0} s.                              " : $"Built in {watch.Elapsed.TotalSeconds:0.0} s.");
        }

        return await call;
    }

    private static Command Settings()
    {
        var zone = new Option<string?>("--time-zone") { Description = "Set the IANA time zone report periods are counted in (administrator key), e.g. Asia/Shanghai.", HelpName = "zone" };
        var command = new Command("settings", "Show the lender's report settings, or change the reporting time zone. Reports already issued keep theirs.") { zone };
        command.SetAction(CommandRunner.Run(parse => parse.GetValue(zone) is null ? KeyRole.Auditor : KeyRole.Administrator, async (parse, ctx) =>
        {
            var settings = parse.GetValue(zone) is { } z
                ? (await ctx.Report.UpdateReportSettingsAsync(new UpdateReportSettingsRequest { Settings = new ReportSettings { TimeZone = z } }, ctx.Call)).Settings
                : (await ctx.Report.GetReportSettingsAsync(new GetReportSettingsRequest(), ctx.Call)).Settings;
            ctx.Output.Print(settings, w => TextTable.WriteProperties(w, ("Reporting time zone", settings.TimeZone)));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
