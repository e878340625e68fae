using System.CommandLine;
using System.Globalization;
using Compliance.Api.V1;
using CsvHelper;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance gate ...</c>: the contact gate, asked before every contact.</summary>
internal static class GateCommands
{
    public static Command Create()
    {
        var command = new Command("gate", "Ask the contact gate whether a contact is allowed (and reserve it), check a call list, and look up or release decisions.");
        command.Subcommands.Add(Check());
        command.Subcommands.Add(Plan());
        command.Subcommands.Add(ShowDecision());
        command.Subcommands.Add(Release());
        return command;
    }

    private static Command Check()
    {
        var account = new Option<string>("--account") { Description = "The account (debt) the contact is about.", Required = true, HelpName = "account-id" };
        var collector = new Option<string>("--collector") { Description = "The collector who would make the contact.", Required = true, HelpName = "collector-id" };
        var channel = new Option<string>("--channel") { Description = "How the contact would be made.", Required = true }
            .AcceptOnlyFromAmong([.. Words.Channels.Words]);
        var contactPoint = new Option<string?>("--contact-point") { Description = "A contact point registered on the account, by id.", HelpName = "contact-point-id" };
        var phone = new Option<string?>("--phone") { Description = "A phone number, registered or not (the gate classifies it), for example +14155550100.", HelpName = "number" };
        var email = new Option<string?>("--email") { Description = "An e-mail address, registered or not.", HelpName = "address" };
        var purpose = new Option<string?>("--purpose") { Description = "Why the contact is made. Default: collect." }
            .AcceptOnlyFromAmong([.. Words.Purposes.Words]);
        var at = TimeInput.Option("--at", "Evaluate the contact at this instant instead of now (dry run only; not with --authorize).");
        var authorize = new Option<bool>("--authorize")
        {
            Description = "Authorize for real: when allowed, the attempt is recorded and its slot reserved until an event quoting the decision id "
                + "confirms it or 'gate release' gives it back. Without it, the check is a dry run that reserves nothing.",
        };
        var timeZone = TimeZoneOption();
        var command = new Command(
            "check",
            "Ask whether a collector may contact a destination about an account, by a channel. Prints ALLOW or DENY, how the destination relates to "
            + "the borrower, every rule that fired with its citation (SHADOW rules only report), and when the contact would next be allowed. "
            + "Exit code 0 when allowed, 3 when denied, 2 when the request is refused, 1 when the server cannot be reached.")
        {
            account, collector, channel, contactPoint, phone, email, purpose, at, authorize, timeZone,
        };
        command.Validators.Add(result =>
        {
            var destinations = new Option[] { contactPoint, phone, email }.Count(o => result.GetResult(o) is not null);
            if (destinations != 1)
            {
                result.AddError("Give exactly one destination: --contact-point, --phone or --email.");
            }

            if (result.GetResult(authorize) is not null && result.GetValue(authorize) && result.GetResult(at) is not null)
            {
                result.AddError("--at is for dry runs; --authorize always decides at the server's clock.");
            }
        });

        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var contact = new ContactRequest
            {
                AccountId = parse.GetRequiredValue(account),
                CollectorId = parse.GetRequiredValue(collector),
                Channel = Words.Channels.Parse(parse.GetRequiredValue(channel)),
                Destination = ContactInput.Destination(parse.GetValue(contactPoint), parse.GetValue(phone), parse.GetValue(email)),
                Purpose = parse.GetValue(purpose) is { } p ? Words.Purposes.Parse(p) : ContactPurpose.Unspecified,
            };

            Decision decision;
            if (parse.GetValue(authorize))
            {
                decision = (await ctx.Gate.AuthorizeAsync(new AuthorizeRequest { Contact = contact }, ctx.Call)).Decision;
            }
            else
            {
                var request = new EvaluateRequest { Contacts = { contact }, At = TimeInput.Value(parse, at) };
                decision = (await ctx.Gate.EvaluateAsync(request, ctx.Call)).Decisions.Single();
            }

            ctx.Output.Print(decision, w => WriteDecision(w, decision, ZoneOf(parse.GetValue(timeZone))));
            return decision.Verdict == Verdict.Allow ? ExitCodes.Ok : ExitCodes.Denied;
        }));
        return command;
    }

    private static Command Plan()
    {
        var file = new Option<string>("--file", "-f")
        {
            Description = "The call list as CSV with a header row: account,collector,channel and one destination column, contact_point, phone or email; "
                + $"optionally purpose ({Words.Purposes.List}). Channels: {Words.Channels.List}. '-' reads standard input.",
            Required = true,
            HelpName = "path",
        };
        var at = TimeInput.Option("--at", "Evaluate the list at this instant, for example tomorrow's dialling start. Default: now.");
        var command = new Command(
            "plan",
            "Check a whole call list in one dry run (nothing is reserved): prints each contact's verdict, the first rule that denies it "
            + "with its citation, and when it would next be allowed. Each contact is judged on its own against the history so far.")
        {
            file, at,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var path = parse.GetRequiredValue(file);
            var rows = ReadCallList(path);
            if (rows.Count == 0)
            {
                throw new UsageException($"{FileInput.Name(path)} has no calls below its header.");
            }

            var request = new EvaluateRequest { Contacts = { rows.Select(r => r.Contact) }, At = TimeInput.Value(parse, at) };
            var response = await ctx.Gate.EvaluateAsync(request, ctx.Call);
            ctx.Output.Print(response, w =>
            {
                var table = new TextTable("LINE", "ACCOUNT", "COLLECTOR", "CHANNEL", "DESTINATION", "VERDICT", "RULE", "CITATION", "NEXT ALLOWED");
                foreach (var (row, decision) in rows.Zip(response.Decisions))
                {
                    var rule = decision.Rules.FirstOrDefault(r => r.Effect == RuleEffect.Deny);
                    table.Add($"{row.Line}", row.Contact.AccountId, row.Contact.CollectorId, Words.Channels.Name(row.Contact.Channel), row.Destination,
                        Words.Verdicts.Name(decision.Verdict), rule?.RuleId, rule?.Citation, Output.Time(decision.NextAllowedAt));
                }

                table.WriteTo(w);
            });
            var allowed = response.Decisions.Count(d => d.Verdict == Verdict.Allow);
            ctx.Output.Note($"{response.Decisions.Count} contacts: {allowed} allowed, {response.Decisions.Count - allowed} denied.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ShowDecision()
    {
        var id = new Argument<string>("decision-id") { Description = "The decision's id, as printed by 'gate check --authorize' and quoted by events." };
        var timeZone = TimeZoneOption();
        var command = new Command("decision", "Show a recorded decision: the contact it answered, its verdict, every rule that fired and the policy version in force.")
        {
            id, timeZone,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var response = await ctx.Gate.GetDecisionAsync(new GetDecisionRequest { DecisionId = parse.GetValue(id) }, ctx.Call);
            ctx.Output.Print(response.Decision, w => WriteDecision(w, response.Decision, ZoneOf(parse.GetValue(timeZone))));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Release()
    {
        var id = new Argument<string>("decision-id") { Description = "The id of an allowed decision from 'gate check --authorize'." };
        var command = new Command(
            "release",
            "Give back a reservation that will not be used (the dialer decided not to dial), so the attempt no longer counts toward limits.")
        {
            id,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var decisionId = parse.GetValue(id);
            var response = await ctx.Gate.ReleaseReservationAsync(new ReleaseReservationRequest { DecisionId = decisionId }, ctx.Call);
            ctx.Output.Print(response, w => w.WriteLine(response.Released
                ? $"released  {decisionId}"
                : $"not released  {decisionId}: its reservation was already used by an event, released, or lapsed"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Option<string?> TimeZoneOption()
    {
        var option = new Option<string?>("--tz")
        {
            Description = "Also show times in this IANA time zone, for example America/New_York or Asia/Shanghai (the borrower's, typically).",
            HelpName = "zone",
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } zone && !TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
            {
                result.AddError($"'{zone}' is not a time zone this machine knows; use an IANA name such as America/New_York.");
            }
        });
        return option;
    }

    private static TimeZoneInfo? ZoneOf(string? id) => id is null ? null : TimeZoneInfo.FindSystemTimeZoneById(id);

    public static void WriteDecision(TextWriter w, Decision d, TimeZoneInfo? zone)
    {
        w.WriteLine(d.FailedClosed ? $"{Words.Verdicts.Name(d.Verdict)} (failed closed: the gate could not decide and denied to be safe)" : Words.Verdicts.Name(d.Verdict));
        TextTable.WriteProperties(w,
            ("account", d.Contact?.AccountId),
            ("collector", d.Contact?.CollectorId),
            ("channel", d.Contact is null ? "" : Words.Channels.Name(d.Contact.Channel)),
            ("purpose", d.Contact is null ? "" : Words.Purposes.Name(d.Contact.Purpose)),
            ("destination", Words.DestinationClasses.Name(d.DestinationClass)),
            ("evaluated at", WithLocal(d.EvaluatedAt, zone)),
            ("next allowed", WithLocal(d.NextAllowedAt, zone)),
            ("decision", d.DecisionId),
            ("reserved until", WithLocal(d.ReservationExpiresAt, zone)),
            ("policy version", d.PolicyVersion),
            ("profiles", string.Join(", ", d.Profiles)));
        WriteHours(w, d.HoursWindow);
        if (d.Rules.Count == 0)
        {
            return;
        }

        var rules = new TextTable("RULE", "EFFECT", "SEVERITY", "CITATION", "NEXT ALLOWED", "MESSAGE");
        foreach (var r in d.Rules)
        {
            rules.Add(r.RuleId, Words.RuleEffects.Name(r.Effect), Words.Severities.Name(r.Severity), r.Citation, Output.Time(r.NextAllowedAt), r.Message);
        }

        w.WriteLine();
        rules.WriteTo(w);
    }

    /// <summary>
    /// The calling window the decision used: "08:00-21:00 local in every zone: 11:00-21:00 America/New_York", then
    /// each zone with the indicator that gave it.
    /// </summary>
    private static void WriteHours(TextWriter w, HoursWindow? h)
    {
        if (h is null)
        {
            return;
        }

        var local = $"{Clock(h.LocalWindow?.StartMinute ?? 0)}-{Clock(h.LocalWindow?.EndMinute ?? 0)}";
        var effective = h.EffectiveLocal.Length > 0 ? $"{h.EffectiveLocal} {h.EffectiveZone}" : "no time that day suits every zone";
        w.WriteLine();
        w.WriteLine($"Hours: {local} local time in every zone ({string.Join(", ", h.RuleIds)}); in all of them: {effective}");
        var zones = new TextTable("ZONE", "INDICATOR", "WHICH");
        foreach (var z in h.Zones)
        {
            zones.Add(z.TimeZone, Words.ZoneSources.Name(z.Source), z.Detail);
        }

        zones.WriteTo(w);
    }

    private static string Clock(int minutes) => $"{minutes / 60:00}:{minutes % 60:00}";

    /// <summary>UTC, and the wall-clock time in <paramref name="zone"/> when one was asked for: "2026-11-28T00:00:00Z (08:00 Fri Asia/Shanghai)".</summary>
    private static string WithLocal(Timestamp? time, TimeZoneInfo? zone)
    {
        if (time is null || zone is null)
        {
            return Output.Time(time);
        }

        var local = TimeZoneInfo.ConvertTime(time.ToDateTimeOffset(), zone);
        return $"{Output.Time(time)} ({local.ToString("yyyy-MM-dd HH:mm ddd", CultureInfo.InvariantCulture)} {zone.Id})";
    }

    /// <summary>One contact of a call list, with the line it came from for the table.</summary>
    private sealed record CallRow(int Line, ContactRequest Contact, string Destination);

    private static List<CallRow> ReadCallList(string path)
    {
        var name = FileInput.Name(path);
        var options = CsvReaderOptions.Default with { Separator = ',', TrimWhitespace = true, TrackLineNumbers = true };
        using var csv = CsvReader.Create(FileInput.OpenText(path), options, leaveOpen: path == "-");
        try
        {
            csv.ReadHeader();
            var columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (var (header, index) in csv.Headers.Select((h, i) => (h.Trim(), i)))
            {
                if (!columns.TryAdd(header, index))
                {
                    throw new UsageException($"{name}: the column '{header}' appears twice in the header.");
                }
            }

            var missing = new[] { "account", "collector", "channel" }.Where(c => !columns.ContainsKey(c)).ToList();
            if (!new[] { "contact_point", "phone", "email" }.Any(columns.ContainsKey))
            {
                missing.Add("contact_point|phone|email");
            }

            if (missing.Count > 0)
            {
                throw new UsageException(columns.Count == 0
                    ? $"{name} is empty; it needs a header row: account,collector,channel,phone (or contact_point or email)."
                    : $"{name}: the header lacks {string.Join(", ", missing)} (it has {string.Join(",", csv.Headers)}).");
            }

            var rows = new List<CallRow>();
            while (csv.Read())
            {
                var line = (int)csv.LineNumber;
                string? Field(string column) =>
                    columns.TryGetValue(column, out var i) && i < csv.FieldCount && csv.GetString(i) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
                UsageException Bad(string problem) => new($"{name} line {line}: {problem}");

                var channelWord = Field("channel") ?? throw Bad("channel is empty.");
                if (!Words.Channels.TryParse(channelWord, out var channel))
                {
                    throw Bad($"channel '{channelWord}' is not one of {Words.Channels.List}.");
                }

                var purpose = ContactPurpose.Unspecified;
                if (Field("purpose") is { } purposeWord && !Words.Purposes.TryParse(purposeWord, out purpose))
                {
                    throw Bad($"purpose '{purposeWord}' is not one of {Words.Purposes.List}.");
                }

                var (contactPoint, phone, email) = (Field("contact_point"), Field("phone"), Field("email"));
                if (new[] { contactPoint, phone, email }.Count(v => v is not null) != 1)
                {
                    throw Bad("give exactly one of contact_point, phone and email.");
                }

                var contact = new ContactRequest
                {
                    AccountId = Field("account") ?? throw Bad("account is empty."),
                    CollectorId = Field("collector") ?? throw Bad("collector is empty."),
                    Channel = channel,
                    Destination = ContactInput.Destination(contactPoint, phone, email),
                    Purpose = purpose,
                };
                rows.Add(new CallRow(line, contact, contactPoint ?? phone ?? email!));
            }

            return rows;
        }
        catch (CsvFormatException ex)
        {
            throw new UsageException($"{name} is not valid CSV: {ex.Message}");
        }
    }
}
