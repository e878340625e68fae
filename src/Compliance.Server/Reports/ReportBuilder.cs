using System.Text.Json;
using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Reports;
using Compliance.Domain.Rules;
using Compliance.Server.Configuration;
using Compliance.Server.Gate;
using Compliance.Storage;
using Microsoft.Extensions.Options;

namespace Compliance.Server.Reports;

/// <summary>A report that would hold more rows than a report may (an examiner export over too long a period).</summary>
internal sealed class ReportTooLargeException(string message) : Exception(message);

/// <summary>Told how many of the period's events a build has counted, of how many.</summary>
internal delegate Task ReportProgress(long counted, long total, CancellationToken ct);

/// <summary>
/// Builds a report's document from the store: the events' figures summed by the store per collector and hour or day,
/// the events that broke a rule counted by the store per collector and list of violations (each list read once), and
/// the other sources (decisions, incidents, complaints) in one streaming pass each. The
/// figures are kept per rule, collector, agency and hour or day, so memory grows with those and not with the number of
/// events. Only the examiner export lists every contact (read one by one), and refuses a period with more than
/// <see cref="ReportOptions.MaxRows"/> of them.
/// </summary>
internal sealed class ReportBuilder(IReportStore store, IRegistryStore registry, IPolicyStore policies, PolicyRegistry policyRegistry, IOptions<ComplianceOptions> options)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The rule kinds that limit how often a person is contacted: their violations are the frequency exceptions.</summary>
    private static readonly HashSet<string> FrequencyKinds = new(StringComparer.Ordinal) { "rolling-window-cap", "daily-cap", "wait-after-conversation" };

    private static readonly Dictionary<string, string> RuleKindById = ProfileCatalog.BuiltIn.Profiles
        .SelectMany(p => p.Rules).GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.First().Kind, StringComparer.Ordinal);

    public async Task<ReportDocument> BuildAsync(ReportKey key, ReportPeriod period, ReportCut cut, DateTimeOffset builtAt, ReportProgress? progress, CancellationToken ct)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(period.TimeZone);
        var maxRows = options.Value.Reports.MaxRows;
        var listed = options.Value.Reports.ListedRows;
        var kind = key.Kind;
        var account = kind == ReportKind.SafeHarbor ? key.Subject : null;
        var hourly = kind == ReportKind.Daily;
        var full = kind is ReportKind.Monthly or ReportKind.Period or ReportKind.ExaminerExport;

        var agencyOf = new Dictionary<string, string>(StringComparer.Ordinal);
        string? after = null;
        do
        {
            var page = await registry.ListCollectorsAsync(key.LenderId, null, 500, after, ct);
            foreach (var c in page.Items)
            {
                agencyOf[c.CollectorId] = c.AgencyId;
            }

            after = page.NextAfter;
        }
        while (after is not null);

        var totals = new Totals();
        var rules = new SortedDictionary<string, RuleAcc>(StringComparer.Ordinal);
        var series = new SortedDictionary<string, SeriesAcc>(StringComparer.Ordinal);
        var collectors = new SortedDictionary<string, ConductAcc>(StringComparer.Ordinal);
        var profilesSeen = new SortedSet<string>(StringComparer.Ordinal);
        var policyVersionsSeen = new SortedSet<string>(StringComparer.Ordinal);
        string Bucket(DateTimeOffset at)
        {
            var local = TimeZoneInfo.ConvertTime(at, zone);
            return hourly ? local.ToString("HH:00") : local.ToString("yyyy-MM-dd");
        }

        // Events arrive in time order, so the bucket of the previous one usually holds the next: its instants are kept
        // and the local time is worked out only when an event falls outside them.
        SeriesAcc? current = null;
        DateTimeOffset currentFrom = default, currentTo = default;
        SeriesAcc SeriesOf(DateTimeOffset at)
        {
            if (current is not null && at >= currentFrom && at < currentTo)
            {
                return current;
            }

            var bucket = Bucket(at);
            if (!series.TryGetValue(bucket, out var acc))
            {
                series[bucket] = acc = new SeriesAcc();
            }

            var local = TimeZoneInfo.ConvertTime(at, zone);
            if (hourly)
            {
                currentFrom = at - (local.TimeOfDay - TimeSpan.FromHours(local.Hour));
                currentTo = currentFrom.AddHours(1);
            }
            else
            {
                var day = DateOnly.FromDateTime(local.DateTime);
                currentFrom = ReportPeriod.StartOfDay(day, zone);
                currentTo = ReportPeriod.StartOfDay(day.AddDays(1), zone);
            }

            current = acc;
            return acc;
        }

        RuleAcc RuleOf(RuleHit hit)
        {
            if (!rules.TryGetValue(hit.RuleId, out var acc))
            {
                rules[hit.RuleId] = acc = new RuleAcc(hit.Citation);
            }

            return acc;
        }

        ConductAcc CollectorOf(string id)
        {
            if (!collectors.TryGetValue(id, out var acc))
            {
                collectors[id] = acc = new ConductAcc();
            }

            return acc;
        }

        // Every bucket of the period is shown, also those with nothing in them.
        if (hourly)
        {
            for (var h = 0; h < 24; h++)
            {
                series[$"{h:00}:00"] = new SeriesAcc();
            }
        }
        else
        {
            for (var d = period.FirstDay; d <= period.LastDay && series.Count < 400; d = d.AddDays(1))
            {
                series[d.ToString("yyyy-MM-dd")] = new SeriesAcc();
            }
        }

        if (account is null)
        {
            await foreach (var d in store.ReportDecisionsAsync(key.LenderId, period.Start, period.End, ct))
            {
                totals.Decisions++;
                var s = SeriesOf(d.EvaluatedAt);
                s.Decisions++;
                policyVersionsSeen.Add(d.PolicyVersion);
                foreach (var p in d.Profiles)
                {
                    profilesSeen.Add(p);
                }

                if (!d.Allowed)
                {
                    totals.Denied++;
                    s.Denied++;
                    CollectorOf(d.CollectorId).Denied++;
                    if (d.FailedClosed)
                    {
                        totals.FailedClosed++;
                    }
                }

                foreach (var hit in d.Rules)
                {
                    var acc = RuleOf(hit);
                    if (hit.Shadow)
                    {
                        acc.Shadow++;
                    }
                    else if (!d.Allowed)
                    {
                        acc.Denied++;
                    }
                }
            }
        }

        var exceptions = new List<ExceptionRow>();
        var contactLog = kind == ReportKind.ExaminerExport ? new List<ContactRow>() : null;
        var accountEvents = account is null ? null : new List<(ReportEvent Event, IReadOnlyList<Violation> Violations)>();

        // The rules broken by n events that stored the same list of violations: per rule, in the totals, the collector's and
        // the bucket's figures.
        void CountViolations(IReadOnlyList<Violation> violations, long n, ConductAcc collector, SeriesAcc bucket)
        {
            var blocking = false;
            foreach (var v in violations)
            {
                var acc = RuleOf(v.Rule);
                profilesSeen.Add(v.Rule.Profile);
                if (v.Rule.Shadow)
                {
                    acc.Shadow += n;
                    totals.Shadow += n;
                }
                else
                {
                    acc.Violations += n;
                    totals.Violations += n;
                    collector.Violations += n;
                    blocking = true;
                }

                if (IsFrequency(v))
                {
                    totals.FrequencyExceptions += n;
                }
            }

            if (blocking)
            {
                totals.EventsWithViolations += n;
                collector.EventsWithViolations += n;
                bucket.EventsWithViolations += n;
            }
        }

        // The frequency exceptions of one event, listed (in a full report) while there is room.
        void ListExceptions(ReportEvent e, IReadOnlyList<Violation> violations)
        {
            foreach (var v in violations)
            {
                if (IsFrequency(v) && full && exceptions.Count < (kind == ReportKind.ExaminerExport ? maxRows : listed))
                {
                    exceptions.Add(new ExceptionRow(e.EventId, e.OccurredAt, e.AccountId, e.CollectorId, e.Channel.ToString(), v.Rule.RuleId, v.Rule.Citation,
                        v.Rule.Shadow, v.Rule.Message));
                }
            }
        }

        var total = await store.ReportEventCountAsync(key.LenderId, period.Start, period.End, cut.EventSeq, ct);
        long seen = 0;
        if (progress is not null)
        {
            await progress(0, total, ct);
        }

        if (contactLog is null && accountEvents is null)
        {
            // The store sums the events per collector, one bucket of the series at a time (so each sum lands in its hour or
            // day, and progress can be told between them); the events that broke a rule are counted per collector and list of
            // violations, each list read once.
            foreach (var span in period.Buckets(zone, hourly))
            {
                series.TryGetValue(span.Label, out var bucket);
                bucket ??= new SeriesAcc();
                long inSpan = 0;
                foreach (var t in await store.ReportEventTalliesAsync(key.LenderId, span.From, span.To, cut.EventSeq, ct))
                {
                    var collector = CollectorOf(t.CollectorId);
                    collector.Events += t.Events;
                    collector.Contacts += t.Contacts;
                    collector.ThirdParty += t.ThirdParty;
                    collector.Conversations += t.Conversations;
                    collector.Risk += t.Risk;
                    totals.Events += t.Events;
                    totals.ImportedEvents += t.Imported;
                    totals.Contacts += t.Contacts;
                    totals.ThirdParty += t.ThirdParty;
                    totals.Conversations += t.Conversations;
                    inSpan += t.Events;
                }

                if (inSpan > 0)
                {
                    series.TryAdd(span.Label, bucket);
                    bucket.Events += inSpan;
                    foreach (var v in await store.ReportViolationTalliesAsync(key.LenderId, span.From, span.To, cut.EventSeq, ct))
                    {
                        CountViolations(Violations(v.ViolationsJson), v.Events, CollectorOf(v.CollectorId), bucket);
                    }

                    seen += inSpan;
                    if (progress is not null)
                    {
                        await progress(seen, total, ct);
                    }
                }
            }

            // A full report lists the first frequency exceptions of the period: the events that broke a rule are read in
            // time order until the list holds as many as there are, or as many as it may.
            var wanted = Math.Min(totals.FrequencyExceptions, listed);
            if (full && exceptions.Count < wanted)
            {
                await foreach (var e in store.ReportEventsWithViolationsAsync(key.LenderId, period.Start, period.End, cut.EventSeq, ct))
                {
                    ListExceptions(e, Violations(e.ViolationsJson));
                    if (exceptions.Count >= wanted)
                    {
                        break;
                    }
                }
            }
        }
        else
        {
            // An examiner export lists every contact and a safe-harbour statement counts one account's: read one by one.
            await foreach (var e in store.ReportEventsAsync(key.LenderId, period.Start, period.End, cut.EventSeq, account, ct))
            {
                if (++seen % 100_000 == 0 && progress is not null)
                {
                    await progress(seen, total, ct);
                }

                totals.Events++;
                if (e.Imported)
                {
                    totals.ImportedEvents++;
                }

                var contact = e.Kind is EventKind.CallPlaced or EventKind.MessageSent or EventKind.Visit;
                var thirdParty = contact && e.DestinationClass is DestinationClass.UnrelatedParty or DestinationClass.Unknown;
                var conversation = e.Kind == EventKind.CallConnected && e.Outcome == AttemptOutcome.Conversation;
                var collector = CollectorOf(e.CollectorId);
                var bucket = SeriesOf(e.OccurredAt);
                bucket.Events++;
                collector.Events++;
                collector.Risk += e.RiskScore;
                if (contact)
                {
                    totals.Contacts++;
                    collector.Contacts++;
                }

                if (thirdParty)
                {
                    totals.ThirdParty++;
                    collector.ThirdParty++;
                }

                if (conversation)
                {
                    totals.Conversations++;
                    collector.Conversations++;
                }

                var violations = e.HasViolations ? Violations(e.ViolationsJson) : [];
                CountViolations(violations, 1, collector, bucket);
                ListExceptions(e, violations);
                if (contactLog is not null)
                {
                    if (contactLog.Count >= maxRows)
                    {
                        throw new ReportTooLargeException($"The period holds more than {maxRows} events, more than one examiner export may list "
                            + "(Compliance:Reports:MaxRows): ask for a shorter period.");
                    }

                    contactLog.Add(new ContactRow(e.EventId, e.OccurredAt, e.Kind.ToString(), e.AccountId, e.CollectorId, e.Channel.ToString(), e.DestinationMasked,
                        e.DestinationClass.ToString(), e.Outcome.ToString(), e.DurationMs / 1000, e.Imported, e.RiskScore,
                        string.Join(' ', violations.Select(v => v.Rule.Shadow ? v.Rule.RuleId + "(shadow)" : v.Rule.RuleId))));
                }

                if (accountEvents is not null)
                {
                    if (accountEvents.Count >= maxRows)
                    {
                        throw new ReportTooLargeException($"The account has more than {maxRows} events in the period (Compliance:Reports:MaxRows): ask for a shorter period.");
                    }

                    accountEvents.Add((e, violations));
                }
            }

            if (progress is not null)
            {
                await progress(seen, total, ct);
            }
        }

        var incidents = new List<IncidentRow>();
        await foreach (var i in store.ReportIncidentsAsync(key.LenderId, period.Start, period.End, ct))
        {
            if (account is not null && i.AccountId != account)
            {
                continue;
            }

            totals.Incidents++;
            if (incidents.Count < listed)
            {
                incidents.Add(new IncidentRow(i.IncidentId, i.OccurredAt, i.RuleId, i.Citation, i.Severity.ToString(), i.AccountId, i.CollectorId, i.Summary,
                    i.AcknowledgedAt is not null));
            }
        }

        var complaints = new List<ComplaintRow>();
        await foreach (var c in store.ReportComplaintsAsync(key.LenderId, period.Start, period.End, ct))
        {
            if (account is not null && c.AccountId != account)
            {
                continue;
            }

            totals.Complaints++;
            if (complaints.Count < maxRows)
            {
                complaints.Add(new ComplaintRow(c.ComplaintId, c.ReceivedAt, c.Source.ToString(), c.Reference, c.AccountId, c.Status.ToString(), c.DueAt));
            }
        }

        SafeHarborStatement? safeHarbor = null;
        if (account is not null)
        {
            safeHarbor = await SafeHarborAsync(key.LenderId, account, period, accountEvents!, profilesSeen, ct);
        }

        var versions = await PolicyVersionsAsync(key.LenderId, period, policyVersionsSeen, profilesSeen, ct);
        var empty = totals.Decisions == 0 && totals.Events == 0 && totals.Incidents == 0 && totals.Complaints == 0;
        var conduct = collectors.Select(c => c.Value.Row(c.Key, agencyOf.GetValueOrDefault(c.Key, ""))).ToList();
        var agencies = conduct.GroupBy(c => c.AgencyId).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Sum(g.Key, g)).ToList();
        var weeklyOrMore = kind is not ReportKind.Daily and not ReportKind.ExaminerExport and not ReportKind.SafeHarbor;
        return new ReportDocument(
            key.ReportId,
            kind.ToString(),
            key.LenderId,
            period.TimeZone,
            period.Start,
            period.End,
            period.FirstDay.ToString("yyyy-MM-dd"),
            period.LastDay.ToString("yyyy-MM-dd"),
            period.Label,
            builtAt,
            cut.LedgerSeq,
            cut.EventSeq,
            empty,
            empty ? $"Nothing was recorded in this period: no gate decisions, events, incidents or complaints up to ledger entry {cut.LedgerSeq}." : "",
            versions,
            new ReportTotals(totals.Decisions, totals.Denied, totals.FailedClosed, totals.Events, totals.ImportedEvents, totals.Contacts, totals.Conversations,
                totals.EventsWithViolations, totals.Violations, totals.Shadow, totals.ThirdParty, totals.Incidents, totals.Complaints),
            rules.Select(r => new RuleRow(r.Key, r.Value.Citation, r.Value.Denied, r.Value.Violations, r.Value.Shadow)).ToList(),
            series.Select(s => new SeriesRow(s.Key, s.Value.Decisions, s.Value.Denied, s.Value.Events, s.Value.EventsWithViolations)).ToList(),
            kind is ReportKind.ExaminerExport or ReportKind.SafeHarbor ? null : conduct,
            weeklyOrMore ? agencies : null,
            kind is ReportKind.Weekly ? null : incidents,
            full || account is not null ? complaints : null,
            full ? exceptions : null,
            totals.FrequencyExceptions,
            contactLog,
            safeHarbor);
    }

    private static List<Violation> Violations(string json) => JsonSerializer.Deserialize<List<Violation>>(json, Json) ?? [];

    private static bool IsFrequency(Violation v) => RuleKindById.TryGetValue(v.Rule.RuleId, out var ruleKind) && FrequencyKinds.Contains(ruleKind);

    private static ConductRow Sum(string agency, IEnumerable<ConductRow> rows)
    {
        long events = 0, contacts = 0, conversations = 0, third = 0, withViolations = 0, violations = 0, denied = 0;
        double risk = 0;
        foreach (var r in rows)
        {
            events += r.Events;
            contacts += r.Contacts;
            conversations += r.Conversations;
            third += r.ThirdPartyContacts;
            withViolations += r.EventsWithViolations;
            violations += r.Violations;
            denied += r.Denied;
            risk += r.TotalRisk;
        }

        return new ConductRow(agency, agency, events, contacts, conversations, third, withViolations, violations, denied, Math.Round(risk, 2),
            events == 0 ? 0 : Math.Round(risk / events, 2));
    }

    /// <summary>The lender's policy versions in force during the period and the versions of the profiles that applied.</summary>
    private async Task<IReadOnlyList<string>> PolicyVersionsAsync(string lenderId, ReportPeriod period, SortedSet<string> seen, SortedSet<string> profiles, CancellationToken ct)
    {
        var stored = (await policies.ListPoliciesAsync(lenderId, ct)).OrderBy(p => p.EffectiveAt).ThenBy(p => p.Version).ToList();
        var result = new List<string>();
        for (var i = 0; i < stored.Count; i++)
        {
            var until = i + 1 < stored.Count ? stored[i + 1].EffectiveAt : DateTimeOffset.MaxValue;
            if (stored[i].EffectiveAt < period.End && until > period.Start)
            {
                result.Add($"policy {stored[i].Version} (effective {stored[i].EffectiveAt:yyyy-MM-dd HH:mm}Z)");
            }
        }

        if (result.Count == 0 || stored[0].EffectiveAt > period.Start)
        {
            result.Insert(0, "built-in default policy");
        }

        foreach (var version in seen.Where(v => v != PolicyRegistry.DefaultVersion && !result.Any(r => r.StartsWith($"policy {v} ", StringComparison.Ordinal))))
        {
            result.Add($"policy {version} (named by decisions)");
        }

        foreach (var id in profiles)
        {
            if (ProfileCatalog.BuiltIn.Find(id) is { } profile)
            {
                result.Add($"{profile.Id} {profile.Version}");
            }
        }

        return result;
    }

    /// <summary>
    /// 12 CFR 1006.14(b)(2): per window of each frequency rule of each profile that applied to the account (in force at the
    /// period's end), counted in the consumer's calendar days from the period's first day: the calls the rule counts
    /// (placed contacts on its channels to the consumer's own or a related party's numbers, less those reported never
    /// connected), the conversations, and the violations the stream recorded for that rule. The violations are the
    /// engine's verdicts (consent, numbers later found not to be the person's); the counts are the raw contacts.
    /// </summary>
    private async Task<SafeHarborStatement> SafeHarborAsync(string lenderId, string accountId, ReportPeriod period,
        IReadOnlyList<(ReportEvent Event, IReadOnlyList<Violation> Violations)> events, SortedSet<string> profilesSeen, CancellationToken ct)
    {
        var account = await registry.GetAccountAsync(lenderId, accountId, ct);
        var policy = policyRegistry.For(lenderId, period.End.AddTicks(-1));
        var applied = account is null ? [.. profilesSeen] : policy.ProfilesFor(account).ToList();
        foreach (var p in applied)
        {
            profilesSeen.Add(p);
        }

        // The consumer's calendar days: the account's zone, else the first zone of its region, else of its country.
        var zoneId = account is null ? "" : new[] { account.Location.TimeZone }
            .Concat(LocalZones.ForRegion(account.Location.Region)).Concat(LocalZones.ForRegion(account.Location.CountryCode))
            .FirstOrDefault(id => id.Length > 0) ?? "";
        var zone = TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var z) ? z : TimeZoneInfo.Utc;
        var first = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(period.Start, zone).DateTime);
        var last = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(period.End.AddTicks(-1), zone).DateTime);
        var rules = new List<SafeHarborRule>();
        foreach (var profile in applied)
        {
            foreach (var rule in policy.RulesOf(profile).Where(r => FrequencyKinds.Contains(r.Kind)))
            {
                var days = Int(rule, "window_days") ?? Int(rule, "days") ?? 1;
                var channels = rule.Parameters.GetValueOrDefault("channels", "voice_call");
                var counted = channels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(c => Enum.TryParse<Channel>(c.Replace("_", ""), ignoreCase: true, out var ch) ? ch : Channel.Unspecified).ToHashSet();
                var max = Int(rule, "max_attempts") ?? Int(rule, "max_effective_calls") ?? Int(rule, "max_attempts_per_day");
                var windows = new List<SafeHarborWindow>();
                for (var day = first; day <= last; day = day.AddDays(days))
                {
                    var end = day.AddDays(days);
                    var from = ReportPeriod.StartOfDay(day, zone);
                    var to = ReportPeriod.StartOfDay(end, zone);
                    long calls = 0, conversations = 0, broken = 0;
                    foreach (var (e, violations) in events)
                    {
                        if (e.OccurredAt < from || e.OccurredAt >= to)
                        {
                            continue;
                        }

                        // Counted per person: the consumer (and those who count as the consumer), not a third party reached about the debt.
                        if (counted.Contains(e.Channel) && e.DestinationClass is DestinationClass.Own or DestinationClass.RelatedParty)
                        {
                            if (e.Kind is EventKind.CallPlaced or EventKind.MessageSent or EventKind.Visit)
                            {
                                calls++;
                            }
                            else if (e.Outcome == AttemptOutcome.NotConnected && e.Kind is EventKind.CallEnded)
                            {
                                calls--;
                            }
                        }

                        if (e.Kind == EventKind.CallConnected && e.Outcome == AttemptOutcome.Conversation)
                        {
                            conversations++;
                        }

                        broken += violations.Count(v => v.Rule.RuleId == rule.RuleId);
                    }

                    windows.Add(new SafeHarborWindow(day.ToString("yyyy-MM-dd"), end.AddDays(-1).ToString("yyyy-MM-dd"), Math.Max(0, calls), conversations, broken,
                        max is { } m && calls > m));
                }

                rules.Add(new SafeHarborRule(profile, rule.RuleId, rule.Kind, rule.Citation, rule.Shadow, max, days, channels, windows));
            }
        }

        return new SafeHarborStatement(accountId, zone.Id, applied, rules);
    }

    private static int? Int(EffectiveRule rule, string name) =>
        rule.Parameters.TryGetValue(name, out var v) && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : null;

    private sealed class Totals
    {
        public long Decisions, Denied, FailedClosed, Events, ImportedEvents, Contacts, Conversations, EventsWithViolations, Violations, Shadow, ThirdParty,
            Incidents, Complaints, FrequencyExceptions;
    }

    private sealed class RuleAcc(string citation)
    {
        public string Citation { get; } = citation;
        public long Denied, Violations, Shadow;
    }

    private sealed class SeriesAcc
    {
        public long Decisions, Denied, Events, EventsWithViolations;
    }

    private sealed class ConductAcc
    {
        public long Events, Contacts, Conversations, ThirdParty, EventsWithViolations, Violations, Denied;
        public double Risk;

        public ConductRow Row(string id, string agency) =>
            new(id, agency, Events, Contacts, Conversations, ThirdParty, EventsWithViolations, Violations, Denied, Math.Round(Risk, 2),
                Events == 0 ? 0 : Math.Round(Risk / Events, 2));
    }
}
