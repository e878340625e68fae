using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Compliance.Domain.Ledger;
using Compliance.Domain.Registry;
using Compliance.Storage;

namespace Compliance.Server.Audit;

/// <summary>
/// Builds the evidence bundle for one account and period: the ledger entries (decisions, events with verdicts, flag
/// changes, complaints) with their hashes, the signed checkpoints and verification key, the policy versions, the
/// verification result, and an HTML timeline a complaint handler can read. Only masked numbers appear.
/// </summary>
internal sealed class EvidencePack(IComplianceStore store, LedgerAuditor auditor, LedgerKeys keys)
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public async Task<byte[]> BuildAsync(Account account, DateTimeOffset from, DateTimeOffset to, Complaint? complaint, DateTimeOffset now, CancellationToken ct)
    {
        var lender = account.LenderId;
        var recorded = await store.EntriesOfAccountAsync(lender, account.AccountId, from, to, ct);
        // Events recorded before event batches have entries of their own; the newer ones are shown with their proof.
        var hasEntry = recorded.Where(e => e.Kind == LedgerKind.Event).Select(e => e.RefId).ToHashSet(StringComparer.Ordinal);
        var events = (await store.EventsOfAccountAsync(lender, account.AccountId, account.BorrowerId, from, to, ct)).Where(e => !hasEntry.Contains(e.EventId)).ToList();
        var bySeq = (await store.EventProofsAsync(lender, events.Select(e => e.Seq).ToList(), ct)).ToDictionary(p => p.Event.Seq);
        var proofs = events.Select(e => bySeq.GetValueOrDefault(e.Seq)).OfType<EventProof>().ToList();

        var batches = proofs.Select(p => p.Batch).DistinctBy(b => b.Seq);
        var ledgerEntries = recorded.Concat(batches).OrderBy(e => e.Seq).ToList();
        // The timeline shows each event where its batch entry stands in the chain.
        var entries = recorded.Concat(proofs.Select(p => p.Batch with
        {
            Kind = LedgerKind.Event,
            RefId = p.Event.EventId,
            AccountId = p.Event.AccountId,
            RecordedAt = p.Event.ReceivedAt,
            Payload = JsonSerializer.Serialize(p.Event, Web),
        })).OrderBy(e => e.Seq).ThenBy(e => e.RecordedAt).ToList();
        var checkpoints = await store.CheckpointsAsync(lender, ct);
        var policies = (await store.ListPoliciesAsync(lender, ct)).Where(p => p.EffectiveAt < to).ToList();
        var verification = await auditor.VerifyAsync(lender, from, to, ct);

        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "summary.html", Html(account, from, to, complaint, entries, verification, now));
            Add(zip, "events.jsonl", string.Join('\n', proofs.Select(p => JsonSerializer.Serialize(new
            {
                @event = p.Event,
                leaf = Convert.ToHexStringLower(p.Leaf),
                path = p.Path.Select(s => new { sibling = Convert.ToHexStringLower(s.Sibling), left = s.Left }),
                batchEntrySeq = p.Batch.Seq,
            }, Web))));
            Add(zip, "ledger-entries.jsonl", string.Join('\n', ledgerEntries.Select(e => JsonSerializer.Serialize(new
            {
                e.Seq,
                kind = e.Kind.ToString(),
                e.RefId,
                e.AccountId,
                recordedAt = e.RecordedAt,
                prevHash = Convert.ToHexStringLower(e.PrevHash),
                hash = Convert.ToHexStringLower(e.Hash),
                e.Payload,
            }))));
            Add(zip, "checkpoints.json", JsonSerializer.Serialize(checkpoints.Select(c => new
            {
                c.Seq,
                c.Anchor,
                hash = Convert.ToHexStringLower(c.Hash),
                signedAt = c.SignedAt,
                signature = Convert.ToBase64String(c.Signature),
            }), Indented));
            Add(zip, "policies.json", JsonSerializer.Serialize(policies, Indented));
            Add(zip, "verification.json", JsonSerializer.Serialize(verification, Indented));
            Add(zip, "verification-key.pem", keys.PublicKeyPem);
            if (complaint is not null)
            {
                Add(zip, "complaint.json", JsonSerializer.Serialize(complaint, Indented));
            }

            Add(zip, "README.txt", """
                Evidence bundle of the Compliance service.

                summary.html          the timeline of contacts for the account and period, readable in a browser
                ledger-entries.jsonl  every recorded fact about the account (gate decisions, flag changes, complaints) and the
                                      event batches that hold its events, each with its position (seq) in the lender's hash
                                      chain, its hash and the previous entry's hash
                events.jsonl          the account's events with their verdicts, each with its leaf hash and the path from the
                                      leaf to the Merkle root recorded in its batch entry (batchEntrySeq)
                checkpoints.json      signed checkpoints of the lender's chain (ECDSA P-256, SHA-256)
                verification-key.pem  the public key that verifies the checkpoint signatures
                verification.json     the service's verification of the lender's chain over the period
                policies.json         the lender's policy versions in force up to the end of the period

                Entry hash = SHA-256( "compliance-ledger-v1" | prevHash (32 bytes) | seq (int64 big-endian) | kind (int32 BE) |
                recordedAt in Unix ms (int64 BE) | lenderId, refId, accountId, payload: each as UTF-8 prefixed by its length (int32 BE) ).
                An event batch entry's payload names the positions of its events in the event log (firstSeq..lastSeq), how many
                there are and the Merkle root of their leaves. Leaf = SHA-256( 0x00 | "compliance-event-v1" | seq (int64 BE) |
                kind, channel, purpose, destinationClass, destinationUse, outcome, counts, imported (int32 BE each) | durationMs,
                occurredAt ms, receivedAt ms, riskScore as IEEE-754 bits (int64 BE each) | lenderId, eventId, accountId, borrowerId,
                collectorId, decisionId, callId, destinationHash, destinationMasked, partyId, violations as stored (JSON), body:
                each as UTF-8 prefixed by its length (int32 BE; body -1 when not kept; an e-mail's kept body starts with the line
                "Subject: <subject>" and an empty line) ). Node = SHA-256( 0x01 | left | right ).
                To check an event: start from its leaf and hash it with each sibling of its path in turn (the sibling first when
                "left" is true); the result must equal the root in the batch entry, whose hash links into the chain.
                Checkpoint signature covers the UTF-8 text "compliance-checkpoint-v1|<lender>|<seq>|<hash hex>|<signedAt ms>|checkpoint".
                Entries of other accounts are not included; their hashes link the chain between the entries shown, and the
                service's verification (verification.json) covers the whole chain.
                """);
        }

        return buffer.ToArray();
    }

    private static void Add(ZipArchive zip, string name, string content)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var writer = new StreamWriter(entry.Open(), new UTF8Encoding(false));
        writer.Write(content);
    }

    private static string Html(Account account, DateTimeOffset from, DateTimeOffset to, Complaint? complaint, IReadOnlyList<LedgerEntry> entries, VerifyResult verification, DateTimeOffset now)
    {
        var zone = TimeZoneInfo.TryFindSystemTimeZoneById(account.Location.TimeZone, out var z) ? z : null;
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Evidence: account ").Append(E(account.AccountId)).Append("</title>")
            .Append("<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;font-size:13px}")
            .Append("th{background:#f2f2f2;text-align:left}.deny{background:#fde8e8}.viol{background:#fff4e0}.ok{background:#eef8ee}.muted{color:#777}</style></head><body>");
        html.Append("<h1>Collection evidence for account ").Append(E(account.AccountId)).Append("</h1>");
        html.Append("<p>Borrower ").Append(E(account.BorrowerName)).Append(" (").Append(E(account.BorrowerId)).Append("), location ")
            .Append(E($"{account.Location.CountryCode} {account.Location.Region} {account.Location.TimeZone}".Trim())).Append(".<br>Period ")
            .Append(E($"{from:u} to {to:u}")).Append(". Generated ").Append(E($"{now:u}")).Append(".</p>");
        if (complaint is not null)
        {
            html.Append("<h2>Complaint</h2><p>").Append(E($"{complaint.Source} reference {complaint.Reference}, received {complaint.ReceivedAt:u}, status {complaint.Status}"))
                .Append(complaint.DueAt is { } due ? E($", answer due {due:u}") : "").Append("</p><blockquote>").Append(E(complaint.Text)).Append("</blockquote>");
        }

        html.Append("<h2>Record integrity</h2><p>").Append(verification.Valid
            ? E($"The lender's hash chain verifies: {verification.EntriesChecked} entries and {verification.CheckpointsChecked} signed checkpoints checked.")
            : E($"THE RECORD DOES NOT VERIFY at entry {verification.FirstBadSeq}: {verification.Reason}")).Append("</p>");

        // Each payload is parsed once, for the summary and the timeline.
        var rows = entries.Select(e => (Entry: e, Payload: Read(e))).ToList();
        var decisions = rows.Count(r => r.Entry.Kind == LedgerKind.Decision);
        var denied = rows.Count(r => r.Entry.Kind == LedgerKind.Decision && r.Payload.TryGetProperty("allowed", out var a) && !a.GetBoolean());
        var events = rows.Where(r => r.Entry.Kind == LedgerKind.Event).ToList();
        var withViolations = events.Count(r => r.Payload.TryGetProperty("violations", out var v) && v.GetArrayLength() > 0);
        html.Append("<h2>Summary</h2><ul><li>").Append(decisions).Append(" gate decisions, ").Append(denied).Append(" denied (blocked before contact)</li><li>")
            .Append(events.Count).Append(" reported events, ").Append(withViolations).Append(" with rule violations</li></ul>");

        html.Append("<h2>Timeline</h2><table><tr><th>#</th><th>Time (UTC)</th><th>Local time</th><th>What</th><th>Collector</th><th>Destination</th><th>Result</th><th>Rules</th></tr>");
        foreach (var (entry, p) in rows)
        {
            var (what, css, result) = Describe(entry, p);
            var time = Time(entry, p);
            html.Append("<tr class=\"").Append(css).Append("\"><td class=\"muted\">").Append(entry.Seq).Append("</td><td>").Append(E($"{time:yyyy-MM-dd HH:mm:ss}"))
                .Append("</td><td>").Append(zone is null ? "" : E($"{TimeZoneInfo.ConvertTime(time, zone):yyyy-MM-dd HH:mm}")).Append("</td><td>").Append(E(what))
                .Append("</td><td>").Append(E(Str(p, "collectorId"))).Append("</td><td>").Append(E($"{Str(p, "destinationMasked")} {Class(p)}".Trim()))
                .Append("</td><td>").Append(E(result)).Append("</td><td>").Append(Rules(p)).Append("</td></tr>");
        }

        html.Append("</table><p class=\"muted\">Numbers are masked; the service stores borrowers' numbers only as keyed hashes. Each row is a ledger entry; its hash is in ledger-entries.jsonl.</p></body></html>");
        return html.ToString();
    }

    private static (string What, string Css, string Result) Describe(LedgerEntry entry, JsonElement p) => entry.Kind switch
    {
        LedgerKind.Decision => ($"Gate check ({Channel(p)})", p.GetProperty("allowed").GetBoolean() ? "ok" : "deny",
            p.GetProperty("allowed").GetBoolean() ? "allowed" : p.TryGetProperty("failedClosed", out var fc) && fc.GetBoolean() ? "denied (gate unavailable)" : "denied, contact blocked"),
        LedgerKind.Event => ($"{EventWhat(p)} ({Channel(p)})", p.TryGetProperty("violations", out var v) && v.GetArrayLength() > 0 ? "viol" : "ok",
            v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 ? $"{v.GetArrayLength()} violation(s), risk {p.GetProperty("riskScore").GetDouble():0}" : "no violation"),
        LedgerKind.FlagSet => (FlagWhat(p), "", Str(p, "note")),
        LedgerKind.FlagCleared => ($"Flag cleared: {Enum.GetName(typeof(FlagType), p.GetProperty("type").GetInt32())}", "", ""),
        LedgerKind.Complaint => ("Complaint recorded", "", Str(p, "reference")),
        LedgerKind.ComplaintStatus => ("Complaint status changed", "", Str(p, "status")),
        LedgerKind.EvidenceRead => ("Evidence exported", "muted", Str(p, "by")),
        LedgerKind.AccountChanged => ($"Account registered or changed (revision {(p.TryGetProperty("revision", out var r) ? r.GetInt64() : 0)})", "muted",
            $"{(p.TryGetProperty("contactPoints", out var cps) ? cps.GetArrayLength() : 0)} own contact points, {(p.TryGetProperty("parties", out var ps) ? ps.GetArrayLength() : 0)} parties"),
        _ => (entry.Kind.ToString(), "", ""),
    };

    /// <summary>An event's kind, saying what the law makes of the kinds that are not plain contacts.</summary>
    private static string EventWhat(JsonElement p)
    {
        var kind = p.TryGetProperty("kind", out var k) ? (Domain.Events.EventKind)k.GetInt32() : Domain.Events.EventKind.Unspecified;
        var outcome = p.TryGetProperty("outcome", out var o) ? (Domain.Rules.AttemptOutcome)o.GetInt32() : Domain.Rules.AttemptOutcome.Pending;
        return kind switch
        {
            Domain.Events.EventKind.InboundCall => outcome == Domain.Rules.AttemptOutcome.InboundConversation
                ? "Call-in by the consumer: a conversation (starts the wait after a conversation; not a placed call)"
                : "Call-in by the consumer, no conversation (not a placed call)",
            Domain.Events.EventKind.ValidationNoticeSent => "Validation notice sent (12 CFR 1006.34)",
            _ => Kind(p),
        };
    }

    /// <summary>A flag as the timeline states it: a consent with its window, a wrong number with its source, a notice with its delivery.</summary>
    private static string FlagWhat(JsonElement p)
    {
        var type = (FlagType)p.GetProperty("type").GetInt32();
        var source = p.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : 0;
        var point = Str(p, "contactPointId");
        return type switch
        {
            FlagType.ConsentToContact => $"Consent to calls given directly (12 CFR 1006.14(b)(3)(i)): window from {When(p, "windowFrom") ?? When(p, "effectiveFrom")}"
                + $" to {When(p, "expiresAt") ?? "the end of day 7"}; calls in it count toward no call limit",
            FlagType.WrongNumber => $"Wrong number recorded: contact point {point} is not the consumer's since {When(p, "effectiveFrom")}"
                + $"{(source > 0 ? $" (source: {Enum.GetName((WrongNumberSource)source)})" : "")}; calls to it are third-party contacts",
            FlagType.ValidationNoticeSent => $"Validation notice sent{(source > 0 ? $" ({Enum.GetName((ValidationDelivery)source)})" : "")}",
            FlagType.MediumOptOut => $"Opt-out of {Channel(p)}{(point.Length > 0 ? $" at contact point {point}" : "")}: applies to every debt of the borrower",
            _ => $"Flag set: {Enum.GetName(type)}",
        };
    }

    private static string? When(JsonElement p, string name) =>
        p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? $"{v.GetDateTimeOffset():yyyy-MM-dd HH:mm}" : null;

    private static DateTimeOffset Time(LedgerEntry entry, JsonElement p) =>
        entry.Kind == LedgerKind.Event && p.TryGetProperty("occurredAt", out var t) ? t.GetDateTimeOffset() : entry.RecordedAt;

    private static string Rules(JsonElement p)
    {
        var html = new StringBuilder();
        if (p.TryGetProperty("rules", out var rules))
        {
            foreach (var r in rules.EnumerateArray())
            {
                Rule(html, r, "");
            }
        }

        if (p.TryGetProperty("violations", out var violations))
        {
            foreach (var v in violations.EnumerateArray())
            {
                Rule(html, v.GetProperty("rule"), Str(v, "excerpt"));
            }
        }

        if (p.TryGetProperty("hours", out var hours) && hours.ValueKind == JsonValueKind.Object)
        {
            Hours(html, hours);
        }

        return html.ToString();
    }

    /// <summary>The calling window a gate decision used: the local window, the span it held in every zone, and each zone's indicator.</summary>
    private static void Hours(StringBuilder html, JsonElement h)
    {
        static string Clock(JsonElement h, string name) => h.TryGetProperty(name, out var m) ? $"{m.GetInt32() / 60:00}:{m.GetInt32() % 60:00}" : "";
        var effective = Str(h, "effectiveLocal");
        var zones = h.TryGetProperty("zones", out var list)
            ? string.Join(", ", list.EnumerateArray().Select(z => $"{Str(z, "zone")} ({ZoneSourceWord(z)}{(Str(z, "detail").Length > 0 ? " " + Str(z, "detail") : "")})"))
            : "";
        html.Append("<div class=\"muted\">Hours ").Append(Clock(h, "startMinute")).Append('-').Append(Clock(h, "endMinute"))
            .Append(" local in every zone; in all of them: ")
            .Append(E(effective.Length > 0 ? $"{effective} {Str(h, "effectiveZone")}" : "no time that day"))
            .Append("<br>zones: ").Append(E(zones)).Append("</div>");
    }

    private static string ZoneSourceWord(JsonElement z) =>
        z.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.Number
            ? Enum.GetName(typeof(Domain.Policies.ZoneSource), s.GetInt32()) ?? ""
            : "";

    private static void Rule(StringBuilder html, JsonElement r, string excerpt)
    {
        html.Append("<div><b>").Append(E(Str(r, "ruleId"))).Append("</b>").Append(r.TryGetProperty("shadow", out var s) && s.GetBoolean() ? " (shadow)" : "")
            .Append(" — ").Append(E(Str(r, "citation"))).Append("<br><span class=\"muted\">").Append(E(Str(r, "message"))).Append("</span>");
        if (excerpt.Length > 0)
        {
            html.Append("<br>“").Append(E(excerpt)).Append('”');
        }

        html.Append("</div>");
    }

    /// <summary>The payload as a JSON element that outlives its parse (the document is returned to its pool).</summary>
    private static JsonElement Read(LedgerEntry e)
    {
        using var document = JsonDocument.Parse(e.Payload);
        return document.RootElement.Clone();
    }

    private static string Str(JsonElement p, string name) => p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static string Channel(JsonElement p) => p.TryGetProperty("channel", out var c) ? Enum.GetName(typeof(Channel), c.GetInt32()) ?? "" : "";

    private static string Kind(JsonElement p) => p.TryGetProperty("kind", out var k) ? Enum.GetName(typeof(Domain.Events.EventKind), k.GetInt32()) ?? "" : "";

    private static string Class(JsonElement p) =>
        p.TryGetProperty("destinationClass", out var c) && c.GetInt32() > 0 ? $"({Enum.GetName(typeof(Domain.Rules.DestinationClass), c.GetInt32())})" : "";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
