using System.Globalization;
using Compliance.Api.V1;
using Compliance.Server.Security;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Server.WebConsole;

/// <summary>The console's pages as plain server-rendered HTML; every value goes through <see cref="Html"/>'s encoding.</summary>
internal static class ConsoleViews
{
    public static readonly (string Path, string Label)[] Sections =
    [
        ("/reports", "Reports"), ("/incidents", "Incidents"), ("/complaints", "Complaints"), ("/evidence", "Evidence"),
    ];

    /// <summary>A whole page: header with the signed-in lender and role, navigation, sign-out (a POST with its token).</summary>
    public static Html Page(string title, Caller? caller, Html antiforgeryField, string activePath, Html body)
    {
        var header = caller is null
            ? Html.Empty
            : Html.Of($"""
                <nav aria-label="Sections">{Html.Join(Sections.Select(s => Html.Of($"""<a href="{s.Path}"{Html.When(s.Path == activePath, Html.Of($" class=\"active\" aria-current=\"page\""))}>{s.Label}</a>""")))}</nav>
                <div class="who"><span class="lender">{caller.LenderId}</span><span class="role">{RoleLabel(caller.Role)}</span>
                <form method="post" action="/sign-out">{antiforgeryField}<button type="submit" class="link">Sign out</button></form></div>
                """);
        return Html.Of($"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <title>{title} · Compliance console</title>
            <link rel="stylesheet" href="/console.css">
            </head>
            <body>
            <header class="top"><a class="brand" href="/"><span class="mark" aria-hidden="true"></span>Compliance<span class="sub">console</span></a>{header}</header>
            <main>
            {body}
            </main>
            <footer>Read-only view of the lender's records. Evidence exports are recorded in the ledger.</footer>
            <script src="/console.js"></script>
            </body>
            </html>
            """);
    }

    public static Html SignIn(Html antiforgeryField, string? refusal) => Html.Of($"""
        <section class="sign-in card">
        <h1>Sign in</h1>
        <p>Use the API key of a <strong>compliance officer</strong>, an <strong>auditor</strong> or an <strong>administrator</strong> of your lender.
        The console only reads; keys of collection systems cannot sign in here.</p>
        {Html.When(refusal is not null, Html.Of($"""<p class="refusal" role="alert">{refusal}</p>"""))}
        <form method="post" action="/sign-in" autocomplete="off">
        {antiforgeryField}
        <label for="key">API key</label>
        <input id="key" name="key" type="password" required spellcheck="false" autocomplete="off" placeholder="cmp_…">
        <button type="submit" class="primary">Sign in</button>
        </form>
        <p class="hint">The key is kept encrypted in a browser cookie for this session only and is never shown or logged.</p>
        </section>
        """);

    public static Html Notice(string title, string message, string kind = "info") => Html.Of($"""
        <h1>{title}</h1><p class="notice {kind}">{message}</p>
        """);

    public static Html Reports(ListReportsResponse? list, ReportKind kind, string? unavailable)
    {
        var filter = Html.Of($"""
            <form method="get" action="/reports" class="filters">
            <label for="kind">Kind</label>
            <select id="kind" name="kind">{Html.Join(new[] { ReportKind.Unspecified, ReportKind.Daily, ReportKind.Weekly, ReportKind.Monthly, ReportKind.Period, ReportKind.ExaminerExport, ReportKind.SafeHarbor }
                .Select(k => Html.Of($"""<option value="{KindSlug(k)}"{Selected(k == kind)}>{(k == ReportKind.Unspecified ? "All kinds" : KindLabel(k))}</option>""")))}</select>
            <button type="submit">Show</button>
            </form>
            """);
        if (unavailable is not null)
        {
            return Html.Of($"""<h1>Reports</h1><p class="notice info">{unavailable}</p>""");
        }

        var rows = list!.Reports.Select(r => Html.Of($"""
            <tr>
            <td><span class="badge kind">{KindLabel(r.Kind)}</span></td>
            <td><a href="/reports/{Uri.EscapeDataString(r.ReportId)}">{PeriodLabel(r)}</a>{Html.When(r.AccountId.Length > 0, Html.Of($"""<div class="cite">account {r.AccountId}</div>"""))}{Html.When(r.Empty, Html.Of($"""<div class="cite">empty period</div>"""))}</td>
            <td class="num">{Count(r.Summary?.Events)}</td>
            <td class="num">{Count(r.Summary?.Decisions)}</td>
            <td class="num">{Count(r.Summary?.Denied)}</td>
            <td class="num">{Count(r.Summary?.Violations)}</td>
            <td class="num">{Count(r.Summary?.Incidents)}</td>
            <td class="time">{Time(r.CreatedAt)}</td>
            </tr>
            """));
        var table = list.Reports.Count == 0
            ? Html.Of($"""<p class="empty">No reports yet. Scheduled reports appear here once their period has ended.</p>""")
            : Html.Of($"""
                <table class="data">
                <thead><tr><th>Kind</th><th>Period</th><th class="num">Events</th><th class="num">Gate checks</th><th class="num">Denied</th><th class="num">Violations</th><th class="num">Incidents</th><th>Issued</th></tr></thead>
                <tbody>{Html.Join(rows)}</tbody>
                </table>
                """);
        return Html.Of($"""
            <div class="title-row"><h1>Reports</h1>{filter}</div>
            <p class="lead">Issued reports never change: each records the ledger position it was built to and is itself a ledger entry.</p>
            {table}
            {NextPage("/reports", list.NextPageToken, ("kind", KindSlug(kind)))}
            """);
    }

    public static Html Report(Api.V1.Report report)
    {
        var id = Uri.EscapeDataString(report.ReportId);
        var zone = report.TimeZone.Length > 0 ? report.TimeZone : "UTC";
        return Html.Of($"""
            <p class="crumbs"><a href="/reports">Reports</a> / {KindLabel(report.Kind)}</p>
            <div class="title-row"><h1>{KindLabel(report.Kind)} · {PeriodLabel(report)}</h1>
            <div class="downloads">Download <a href="/reports/{id}/download/json">JSON</a><a href="/reports/{id}/download/csv">CSV</a><a href="/reports/{id}/download/html">HTML</a></div></div>
            <dl class="facts">
            <div><dt>Period ({zone})</dt><dd>{PeriodSpan(report)}</dd></div>
            <div><dt>Issued (UTC)</dt><dd>{Time(report.CreatedAt)}{Html.When(report.RequestedBy.Length > 0, Html.Of($"""<div class="cite">by {(report.RequestedBy == "schedule" ? "the schedule" : $"key {report.RequestedBy}")}</div>"""))}</dd></div>
            <div><dt>Built from the ledger up to</dt><dd>entry {report.LedgerSequence}</dd></div>
            <div><dt>Recorded as ledger entry</dt><dd>{report.LedgerEntrySequence}<div class="cite" title="SHA-256 of the report's content">SHA-256 {Shorten(report.ContentSha256, 16)}</div></dd></div>
            {Html.When(report.AccountId.Length > 0, Html.Of($"""<div><dt>Account</dt><dd>{report.AccountId}</dd></div>"""))}
            </dl>
            {Html.When(report.Empty, Html.Of($"""<p class="notice info">No decisions, events, incidents or complaints in this period: the report is valid and says so.</p>"""))}
            <iframe class="report" src="/reports/{id}/document" title="{KindLabel(report.Kind)} report" sandbox="allow-same-origin"></iframe>
            """);
    }

    public static Html Incidents(ListIncidentsResponse list, Severity minimum, DateTimeOffset now)
    {
        var filter = Html.Of($"""
            <form method="get" action="/incidents" class="filters">
            <label for="severity">At least</label>
            <select id="severity" name="severity">{Html.Join(new[] { Severity.Unspecified, Severity.Low, Severity.Medium, Severity.High, Severity.Critical }
                .Select(s => Html.Of($"""<option value="{SeveritySlug(s)}"{Selected(s == minimum)}>{(s == Severity.Unspecified ? "Any severity" : SeverityLabel(s))}</option>""")))}</select>
            <button type="submit">Show</button>
            </form>
            """);
        var rows = list.Incidents.Select(i => Html.Of($"""
            <tr>
            <td class="time">{Time(i.OccurredAt)}</td>
            <td><span class="badge sev-{SeveritySlug(i.Severity)}">{SeverityLabel(i.Severity)}</span></td>
            <td><code>{i.RuleId}</code><div class="cite">{i.Citation}</div></td>
            <td>{i.AccountId}</td>
            <td>{i.CollectorId}</td>
            <td class="text">{i.Summary}</td>
            <td>{(i.AcknowledgedAt is null ? Html.Of($"""<span class="badge open">Open</span>""") : Html.Of($"""<span class="badge done">Acknowledged</span><div class="cite">{Time(i.AcknowledgedAt)}</div>"""))}</td>
            </tr>
            """));
        var table = list.Incidents.Count == 0
            ? Html.Of($"""<p class="empty">No incidents.</p>""")
            : Html.Of($"""
                <table class="data">
                <thead><tr><th>Occurred (UTC)</th><th>Severity</th><th>Rule</th><th>Account</th><th>Collector</th><th>What happened</th><th>Status</th></tr></thead>
                <tbody>{Html.Join(rows)}</tbody>
                </table>
                """);
        var open = list.Incidents.Count(i => i.AcknowledgedAt is null);
        return Html.Of($"""
            <div class="title-row"><h1>Incidents</h1>{filter}</div>
            <p class="lead">Patterns that need a person's attention. {open} of {list.Incidents.Count} shown are open; as of {now:yyyy-MM-dd HH:mm} UTC.</p>
            {table}
            {NextPage("/incidents", list.NextPageToken, ("severity", SeveritySlug(minimum)))}
            """);
    }

    public static Html Complaints(ListComplaintsResponse list, ComplaintStatus status, DateTimeOffset now, Html antiforgeryField)
    {
        var filter = Html.Of($"""
            <form method="get" action="/complaints" class="filters">
            <label for="status">Status</label>
            <select id="status" name="status">{Html.Join(new[] { ComplaintStatus.Unspecified, ComplaintStatus.Received, ComplaintStatus.Investigating, ComplaintStatus.Answered, ComplaintStatus.Closed }
                .Select(s => Html.Of($"""<option value="{StatusSlug(s)}"{Selected(s == status)}>{(s == ComplaintStatus.Unspecified ? "Any status" : StatusLabel(s))}</option>""")))}</select>
            <button type="submit">Show</button>
            </form>
            """);
        var rows = list.Complaints.Select(c => Html.Of($"""
            <tr>
            <td class="time">{Time(c.ReceivedAt)}</td>
            <td class="time">{(c.DueAt is null ? Html.Of($"""<span class="cite">none set</span>""") : Html.Of($"{Time(c.DueAt)}{Due(c, now)}"))}</td>
            <td><span class="badge st-{StatusSlug(c.Status)}">{StatusLabel(c.Status)}</span></td>
            <td>{SourceLabel(c.Source)}<div class="cite">{c.Reference}</div></td>
            <td>{c.AccountId}</td>
            <td class="text">{Shorten(c.Text, 240)}</td>
            <td><form method="post" action="/evidence">{antiforgeryField}<input type="hidden" name="account" value="{c.AccountId}"><input type="hidden" name="complaint" value="{c.ComplaintId}"><button type="submit" class="small">Evidence pack</button></form></td>
            </tr>
            """));
        var table = list.Complaints.Count == 0
            ? Html.Of($"""<p class="empty">No complaints.</p>""")
            : Html.Of($"""
                <table class="data">
                <thead><tr><th>Received (UTC)</th><th>Answer due (UTC)</th><th>Status</th><th>Source</th><th>Account</th><th>Complaint</th><th></th></tr></thead>
                <tbody>{Html.Join(rows)}</tbody>
                </table>
                """);
        var overdue = list.Complaints.Count(c => IsPending(c) && c.DueAt is not null && c.DueAt.ToDateTimeOffset() < now);
        return Html.Of($"""
            <div class="title-row"><h1>Complaints</h1>{filter}</div>
            <p class="lead">{(overdue == 0 ? "None" : overdue.ToString(CultureInfo.InvariantCulture))} of the {list.Complaints.Count} shown {(overdue == 1 ? "is" : "are")} overdue. The evidence pack holds the account's records for the 90 days before the complaint, with the chain proof.</p>
            {table}
            {NextPage("/complaints", list.NextPageToken, ("status", StatusSlug(status)))}
            """);
    }

    public static Html Evidence(Html antiforgeryField, string? problem, string account, string from, string to, string complaint) => Html.Of($"""
        <h1>Evidence pack</h1>
        <p class="lead">A zip of every decision, event with its verdict, flag change, complaint and policy version of one account over a period,
        with the hash-chain proof, the signed checkpoints and a readable timeline (<code>summary.html</code>). The export itself is recorded in the ledger.</p>
        {Html.When(problem is not null, Html.Of($"""<p class="refusal" role="alert">{problem}</p>"""))}
        <form method="post" action="/evidence" class="card form">
        {antiforgeryField}
        <label for="account">Account id</label><input id="account" name="account" required value="{account}">
        <div class="pair"><div><label for="from">From (UTC day)</label><input id="from" name="from" type="date" value="{from}"></div>
        <div><label for="to">To (UTC day, included)</label><input id="to" name="to" type="date" value="{to}"></div></div>
        <label for="complaint">Complaint id (optional)</label><input id="complaint" name="complaint" value="{complaint}">
        <p class="hint">Without dates: the 90 days before the complaint, or before today.</p>
        <button type="submit" class="primary">Download zip</button>
        </form>
        """);

    public static string RoleLabel(string role) => role switch
    {
        Roles.ComplianceOfficer => "Compliance officer",
        Roles.Auditor => "Auditor",
        Roles.Administrator => "Administrator",
        Roles.CollectionSystem => "Collection system",
        _ => role,
    };

    public static string KindLabel(ReportKind kind) => kind switch
    {
        ReportKind.Daily => "Daily summary",
        ReportKind.Weekly => "Weekly scorecard",
        ReportKind.Monthly => "Monthly audit report",
        ReportKind.Period => "Period report",
        ReportKind.ExaminerExport => "Examiner export",
        ReportKind.SafeHarbor => "Safe-harbour statement",
        _ => "Report",
    };

    public static string KindSlug(ReportKind kind) => kind == ReportKind.Unspecified ? "" : kind.ToString().ToLowerInvariant();

    public static string SeveritySlug(Severity severity) => severity == Severity.Unspecified ? "" : severity.ToString().ToLowerInvariant();

    public static string StatusSlug(ComplaintStatus status) => status == ComplaintStatus.Unspecified ? "" : status.ToString().ToLowerInvariant();

    private static string SeverityLabel(Severity severity) => severity == Severity.Unspecified ? "Unrated" : severity.ToString();

    private static string StatusLabel(ComplaintStatus status) => status == ComplaintStatus.Unspecified ? "Unknown" : status.ToString();

    private static string SourceLabel(ComplaintSource source) => source switch
    {
        ComplaintSource.RegulatorHotline => "Regulator hotline",
        ComplaintSource.Borrower => "Borrower",
        ComplaintSource.Court => "Court",
        ComplaintSource.Other => "Other",
        _ => "Unknown",
    };

    private static bool IsPending(Complaint c) => c.Status is ComplaintStatus.Received or ComplaintStatus.Investigating;

    private static Html Due(Complaint c, DateTimeOffset now)
    {
        if (c.DueAt is null || !IsPending(c))
        {
            return Html.Empty;
        }

        var days = (c.DueAt.ToDateTimeOffset() - now).TotalDays;
        return days < 0
            ? Html.Of($"""<div class="due overdue">overdue by {Math.Ceiling(-days):0} d</div>""")
            : Html.Of($"""<div class="due{(days < 3 ? " soon" : "")}">in {Math.Floor(days):0} d</div>""");
    }

    private static string PeriodLabel(Api.V1.Report r)
    {
        if (r.PeriodStart is null || r.PeriodEnd is null)
        {
            return "(no period)";
        }

        var start = InZone(r.PeriodStart, r.TimeZone);
        var end = InZone(r.PeriodEnd, r.TimeZone);
        return r.Kind switch
        {
            ReportKind.Monthly => start.ToString("MMMM yyyy", CultureInfo.InvariantCulture),
            ReportKind.Daily => start.ToString("ddd d MMM yyyy", CultureInfo.InvariantCulture),
            _ => $"{start.ToString("d MMM yyyy", CultureInfo.InvariantCulture)} – {end.AddTicks(-1).ToString("d MMM yyyy", CultureInfo.InvariantCulture)}",
        };
    }

    private static DateTimeOffset InZone(Timestamp t, string zone)
    {
        var instant = t.ToDateTimeOffset();
        return zone.Length > 0 && TimeZoneInfo.TryFindSystemTimeZoneById(zone, out var found) ? TimeZoneInfo.ConvertTime(instant, found) : instant;
    }

    /// <summary>Whole days as "first day to last day"; other periods by their start and end times, in the report's zone.</summary>
    private static string PeriodSpan(Api.V1.Report r)
    {
        if (r.PeriodStart is null || r.PeriodEnd is null)
        {
            return "–";
        }

        var (start, end) = (InZone(r.PeriodStart, r.TimeZone), InZone(r.PeriodEnd, r.TimeZone));
        return start.TimeOfDay == TimeSpan.Zero && end.TimeOfDay == TimeSpan.Zero
            ? FormattableString.Invariant($"{start:yyyy-MM-dd} to {end.AddDays(-1):yyyy-MM-dd}")
            : FormattableString.Invariant($"{start:yyyy-MM-dd HH:mm} to {end:yyyy-MM-dd HH:mm}");
    }

    private static string Time(Timestamp? t) =>
        t is null ? "–" : t.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    private static string Count(long? n) => n is null ? "–" : n.Value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Shorten(string text, int length) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length), "…");

    private static Html Selected(bool selected) => selected ? new Html(" selected") : Html.Empty;

    private static Html NextPage(string path, string token, (string Name, string Value) filter) =>
        string.IsNullOrEmpty(token)
            ? Html.Empty
            : Html.Of($"""<p class="pager"><a href="{path}?{filter.Name}={Uri.EscapeDataString(filter.Value)}&amp;page={Uri.EscapeDataString(token)}">Next page →</a></p>""");
}
