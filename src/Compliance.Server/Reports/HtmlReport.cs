using System.Globalization;
using System.Net;
using System.Text;

namespace Compliance.Server.Reports;

/// <summary>
/// One self-contained HTML page per report: no scripts, no external files; charts are SVG drawn here. Every figure on
/// the page comes from the report's stored JSON.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2733;margin:0;background:#f4f6f8}
        main{max-width:1100px;margin:0 auto;padding:24px}
        header{display:flex;justify-content:space-between;align-items:flex-start;gap:16px;flex-wrap:wrap}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5dbe1;padding-bottom:4px}
        .muted{color:#5b6875}.badge{border-radius:8px;padding:10px 14px;max-width:420px;font-size:13px;overflow-wrap:anywhere}
        .ok{background:#e3f4e8;border:1px solid #6cbf84}.bad{background:#fbe6e6;border:1px solid #d36b6b}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin-top:16px}
        .card{background:#fff;border:1px solid #d5dbe1;border-radius:8px;padding:10px 12px}.card b{display:block;font-size:22px}
        table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}th,td{border:1px solid #d5dbe1;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.hot td{background:#fff4e5}
        .empty{background:#fff;border:1px dashed #9aa7b3;border-radius:8px;padding:14px;margin-top:16px}
        svg{background:#fff;border:1px solid #d5dbe1;border-radius:8px}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
        footer{margin-top:32px;font-size:12px}
        """;

    public static string Render(ReportDocument d, ReportVerification verification)
    {
        var h = new StringBuilder(16_384);
        h.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(Title(d))).Append("</title><style>").Append(Style)
            .Append("</style></head><body><main><header><div><h1>").Append(E(Title(d))).Append("</h1><div class=\"muted\">")
            .Append(E($"{d.LenderId} · {d.FirstDay} to {d.LastDay} ({d.TimeZone}) · {d.PeriodStart:yyyy-MM-dd HH:mm}Z to {d.PeriodEnd:yyyy-MM-dd HH:mm}Z"))
            .Append("</div><div class=\"muted\">").Append(E($"Report {d.ReportId}, built {d.BuiltAt:yyyy-MM-dd HH:mm:ss}Z from the records up to ledger entry {d.BuiltUpToLedgerEntry}"))
            .Append("</div></div><div class=\"badge ").Append(verification.Verified ? "ok" : "bad").Append("\"><b>")
            .Append(verification.Verified ? "&#10003; Ledger verified" : "&#10007; Not verified").Append("</b><br>").Append(E(verification.Text))
            .Append("<br><span class=\"muted\">SHA-256 ").Append(E(verification.ContentSha256)).Append("</span></div></header>");

        h.Append("<p class=\"muted\">Policy versions in force: ").Append(E(string.Join("; ", d.PolicyVersions))).Append("</p>");
        if (d.Empty)
        {
            h.Append("<div class=\"empty\"><b>Empty period.</b> ").Append(E(d.EmptyNote)).Append("</div>");
        }

        var t = d.Totals;
        h.Append("<div class=\"cards\">");
        Card(h, "Gate decisions", t.Decisions);
        Card(h, "Denied", t.Denied);
        Card(h, "Events", t.Events);
        Card(h, "Contacts", t.Contacts);
        Card(h, "Conversations", t.Conversations);
        Card(h, "Events with violations", t.EventsWithViolations);
        Card(h, "Violations", t.Violations);
        Card(h, "Third-party contacts", t.ThirdPartyContacts);
        Card(h, "Incidents", t.Incidents);
        Card(h, "Complaints", t.Complaints);
        h.Append("</div>");

        if (d.Series.Count > 0 && d.SafeHarbor is null)
        {
            h.Append("<h2>").Append(d.Kind == "Daily" ? "By hour" : "By day").Append("</h2>");
            SeriesChart(h, d.Series);
        }

        if (d.Rules.Count > 0)
        {
            h.Append("<h2>Rules</h2>");
            RuleChart(h, d.Rules);
            Table(h, ["Rule", "Citation", "Denied at the gate", "Violations", "Shadow"], d.Rules.Select(r => Row(r.Violations > 0, r.RuleId, r.Citation, r.Denied, r.Violations, r.Shadow)));
        }

        Conduct(h, "Scorecard by collector", "Collector", d.Collectors);
        Conduct(h, "Scorecard by agency", "Agency", d.Agencies);
        if (d.SafeHarbor is { } s)
        {
            h.Append("<h2>Safe harbour statement, 12 CFR 1006.14(b)(2)</h2><p class=\"muted\">")
                .Append(E($"Account {s.AccountId}; the consumer's zone {s.ConsumerTimeZone}; profiles that applied: {string.Join(", ", s.ProfilesApplied)}. "
                    + "Per window of each frequency rule: the calls it counts (placed, less those reported never connected), conversations, and the violations recorded."))
                .Append("</p>");
            foreach (var rule in s.Rules)
            {
                h.Append("<h3>").Append(E($"{rule.RuleId} ({rule.Citation}){(rule.Shadow ? ", shadow" : "")}")).Append("</h3><p class=\"muted\">")
                    .Append(E($"Limit: {(rule.MaxAttempts is { } m ? m.ToString(CultureInfo.InvariantCulture) : "none (a wait)")} per {rule.WindowDays} day(s), channels {rule.Channels}"))
                    .Append("</p>");
                Table(h, ["Window", "Calls counted", "Conversations", "Violations", "Over the limit"],
                    rule.Windows.Select(w => Row(w.OverLimit || w.Violations > 0, $"{w.FirstDay} to {w.LastDay}", w.Calls, w.Conversations, w.Violations, w.OverLimit ? "yes" : "no")));
            }
        }

        if (d.FrequencyExceptions is { } exceptions)
        {
            h.Append("<h2>Frequency exceptions</h2><p class=\"muted\">").Append(E($"{d.FrequencyExceptionsTotal} in the period{(exceptions.Count < d.FrequencyExceptionsTotal ? $", the first {exceptions.Count} listed (the examiner export lists every one)" : "")}."))
                .Append("</p>");
            Table(h, ["Time (UTC)", "Account", "Collector", "Channel", "Rule", "Citation", "What happened"],
                exceptions.Select(x => Row(!x.Shadow, x.OccurredAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), x.AccountId, x.CollectorId, x.Channel,
                    x.RuleId + (x.Shadow ? " (shadow)" : ""), x.Citation, x.Message)));
        }

        if (d.Incidents is { Count: > 0 } incidents)
        {
            h.Append("<h2>Incidents</h2>");
            Table(h, ["Time (UTC)", "Severity", "Rule", "Account", "Collector", "Summary", "Acknowledged"],
                incidents.Select(i => Row(!i.Acknowledged, i.OccurredAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), i.Severity, i.RuleId, i.AccountId, i.CollectorId, i.Summary,
                    i.Acknowledged ? "yes" : "no")));
        }

        if (d.Complaints is { } complaints)
        {
            h.Append("<h2>Complaint log</h2>");
            if (complaints.Count == 0)
            {
                h.Append("<p class=\"muted\">No complaints were received in the period.</p>");
            }
            else
            {
                Table(h, ["Received (UTC)", "Complaint", "Source", "Reference", "Account", "Status", "Answer due"],
                    complaints.Select(c => Row(false, c.ReceivedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), c.ComplaintId, c.Source, c.Reference, c.AccountId, c.Status,
                        c.DueAt?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "")));
            }
        }

        if (d.ContactLog is { } log)
        {
            h.Append("<h2>Contact log</h2>");
            Table(h, ["Time (UTC)", "Event", "Kind", "Account", "Collector", "Channel", "Destination", "Class", "Outcome", "Seconds", "Risk", "Rules broken"],
                log.Select(c => Row(c.RulesBroken.Length > 0, c.OccurredAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), c.EventId, c.Kind, c.AccountId, c.CollectorId, c.Channel,
                    c.Destination, c.DestinationClass, c.Outcome, c.DurationSeconds, c.RiskScore, c.RulesBroken)));
        }

        h.Append("<footer class=\"muted\">").Append(E($"Events up to log position {d.BuiltUpToEventPosition}. A report is issued once and never changes; "
            + "events that arrive later for this period are in later records, not here. The JSON rendering is the exact content the ledger's hash covers."))
            .Append("</footer></main></body></html>");
        return h.ToString();
    }

    private static string Title(ReportDocument d) => d.Kind switch
    {
        "Daily" => $"Daily compliance summary, {d.Label}",
        "Weekly" => $"Weekly scorecard, {d.Label}",
        "Monthly" => $"Monthly audit report, {d.Label}",
        "ExaminerExport" => $"Examiner export, {d.FirstDay} to {d.LastDay}",
        "SafeHarbor" => $"Safe harbour statement, account {d.SafeHarbor?.AccountId}",
        _ => $"Compliance report, {d.FirstDay} to {d.LastDay}",
    };

    private static void Card(StringBuilder h, string label, long value) =>
        h.Append("<div class=\"card\"><b>").Append(value.ToString("N0", CultureInfo.InvariantCulture)).Append("</b>").Append(E(label)).Append("</div>");

    private static void Conduct(StringBuilder h, string title, string what, IReadOnlyList<ConductRow>? rows)
    {
        if (rows is not { Count: > 0 })
        {
            return;
        }

        h.Append("<h2>").Append(E(title)).Append("</h2>");
        Table(h, [what, "Agency", "Events", "Contacts", "Conversations", "Third-party", "Denied", "Events with violations", "Violations", "Mean risk"],
            rows.OrderByDescending(r => r.MeanRisk).ThenBy(r => r.Id, StringComparer.Ordinal)
                .Select(r => Row(r.Violations > 0, r.Id, r.AgencyId, r.Events, r.Contacts, r.Conversations, r.ThirdPartyContacts, r.Denied, r.EventsWithViolations, r.Violations, r.MeanRisk)));
    }

    private static (bool Hot, object[] Cells) Row(bool hot, params object[] cells) => (hot, cells);

    private static void Table(StringBuilder h, string[] headers, IEnumerable<(bool Hot, object[] Cells)> rows)
    {
        h.Append("<table><thead><tr>");
        foreach (var header in headers)
        {
            h.Append("<th>").Append(E(header)).Append("</th>");
        }

        h.Append("</tr></thead><tbody>");
        foreach (var (hot, cells) in rows)
        {
            h.Append(hot ? "<tr class=\"hot\">" : "<tr>");
            foreach (var cell in cells)
            {
                var numeric = cell is long or int or double;
                h.Append(numeric ? "<td class=\"n\">" : "<td>").Append(E(Convert.ToString(cell, CultureInfo.InvariantCulture) ?? "")).Append("</td>");
            }

            h.Append("</tr>");
        }

        h.Append("</tbody></table>");
    }

    /// <summary>Events and events with violations per bucket, as grouped bars.</summary>
    private static void SeriesChart(StringBuilder h, IReadOnlyList<SeriesRow> series)
    {
        const int width = 1000, height = 220, left = 50, bottom = 40, top = 16;
        // Counts: the axis tops at a multiple of 4 so its five ticks are whole numbers.
        var max = (Math.Max(1, series.Max(s => Math.Max(s.Events, s.Decisions))) + 3) / 4 * 4;
        var step = (double)(width - left - 10) / series.Count;
        var bar = Math.Max(1, step / 3 - 1);
        h.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"Decisions, events and events with violations per bucket\">");
        for (var i = 0; i <= 4; i++)
        {
            var y = top + (height - top - bottom) * i / 4.0;
            var value = max * (4 - i) / 4.0;
            h.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"#e3e7eb\"/>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{y + 4:0.#}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6875\">{value:N0}</text>");
        }

        // A label is about 7 units a character at this size: name every bucket where that fits beside the next label, else
        // every second, third... one (each named bucket gets a tick), so the labels of a month or a day never run together.
        var labelWidth = 7.0 * series.Max(s => Label(s.Bucket).Length) + 12;
        var labelEvery = Math.Max(1, (int)Math.Ceiling(labelWidth / step));
        for (var i = 0; i < series.Count; i++)
        {
            var s = series[i];
            var x = left + i * step + 1;
            Bar(h, x, s.Decisions, "#9bb7d4");
            Bar(h, x + bar + 1, s.Events, "#3b6ea5");
            Bar(h, x + 2 * (bar + 1), s.EventsWithViolations, "#d9534f");
            if (i % labelEvery == 0)
            {
                h.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x + step / 2:0.#}\" x2=\"{x + step / 2:0.#}\" y1=\"{height - bottom}\" y2=\"{height - bottom + 4}\" stroke=\"#9aa5b1\"/>")
                    .Append(CultureInfo.InvariantCulture, $"<text x=\"{x + step / 2:0.#}\" y=\"{height - bottom + 16}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6875\">{E(Label(s.Bucket))}</text>");
            }
        }

        h.Append("</svg><div class=\"legend muted\"><span style=\"background:#9bb7d4\"></span>gate decisions<span style=\"background:#3b6ea5\"></span>events")
            .Append("<span style=\"background:#d9534f\"></span>events with violations</div>");

        // A day as month-day (the period names the year), an hour as it is.
        static string Label(string bucket) => bucket.Length == 10 ? bucket[5..] : bucket;

        void Bar(StringBuilder sb, double x, long value, string colour)
        {
            var plot = height - top - bottom;
            var barHeight = plot * value / (double)max;
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:0.##}\" y=\"{top + plot - barHeight:0.##}\" width=\"{bar:0.##}\" height=\"{barHeight:0.##}\" fill=\"{colour}\"><title>{value}</title></rect>");
        }
    }

    /// <summary>Violations and gate denials per rule, as horizontal bars.</summary>
    private static void RuleChart(StringBuilder h, IReadOnlyList<RuleRow> rules)
    {
        const int width = 1000, row = 22, left = 300;
        var shown = rules.OrderByDescending(r => r.Violations + r.Denied).ThenBy(r => r.RuleId, StringComparer.Ordinal).Take(20).ToList();
        var max = Math.Max(1, shown.Max(r => Math.Max(r.Violations, r.Denied)));
        var height = shown.Count * row + 10;
        h.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"Violations and denials per rule\">");
        for (var i = 0; i < shown.Count; i++)
        {
            var r = shown[i];
            var y = 5 + i * row;
            var scale = (width - left - 80) / (double)max;
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 8}\" y=\"{y + 14}\" font-size=\"12\" text-anchor=\"end\">{E(r.RuleId)}</text>")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{y + 2}\" width=\"{r.Violations * scale:0.##}\" height=\"8\" fill=\"#d9534f\"><title>{r.Violations} violations</title></rect>")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{y + 11}\" width=\"{r.Denied * scale:0.##}\" height=\"8\" fill=\"#f0ad4e\"><title>{r.Denied} denied</title></rect>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{left + Math.Max(r.Violations, r.Denied) * scale + 6:0.##}\" y=\"{y + 14}\" font-size=\"11\" fill=\"#5b6875\">{r.Violations} / {r.Denied}</text>");
        }

        h.Append("</svg><div class=\"legend muted\"><span style=\"background:#d9534f\"></span>violations by events<span style=\"background:#f0ad4e\"></span>denied at the gate</div>");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
