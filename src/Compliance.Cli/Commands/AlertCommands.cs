using System.CommandLine;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance alerts ...</c>: incidents for compliance officers, live and stored.</summary>
internal static class AlertCommands
{
    public static Command Create()
    {
        var command = new Command(
            "alerts",
            "Watch incidents as they happen (for example an address-book blast), list stored ones and acknowledge them. Uses the compliance officer key.");
        command.Subcommands.Add(Watch());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Acknowledge());
        return command;
    }

    private static Command Watch()
    {
        var minSeverity = SeverityOption();
        var after = new Option<long?>("--after")
        {
            Description = "Resume: first print every stored incident with a sequence above this one (the seq= of the last line seen; 0 for all), "
                + "then go on with new ones. Default: only incidents from now on.",
        };
        after.Validators.Add(result =>
        {
            if (result.GetValue(after) is < 0)
            {
                result.AddError("--after must be 0 or more.");
            }
        });
        var command = new Command(
            "watch",
            "Print the lender's incidents as they are stored through any replica, one line each (time, sequence, severity, rule, account, incident id, "
            + "summary, events), until Ctrl+C. Only incidents from now on, unless --after resumes from a sequence; 'alerts list' shows earlier ones.")
        {
            minSeverity,
            after,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new WatchRequest { MinSeverity = ParseSeverity(parse.GetValue(minSeverity)) };
            if (parse.GetValue(after) is { } resume)
            {
                request.AfterSequence = resume;
            }

            long? last = request.HasAfterSequence ? request.AfterSequence : null;
            using var call = ctx.Alerts.Watch(request, ctx.StreamCall);
            try
            {
                // The server sends headers once subscribed; saying so tells the person that nothing is lost from here on.
                await call.ResponseHeadersAsync;
                ctx.Output.Note($"Watching incidents at {ctx.Endpoint}{(request.MinSeverity == Severity.Unspecified ? "" : $" ({Words.Severities.Name(request.MinSeverity)} and above)")}"
                    + $"{(request.HasAfterSequence ? $", after sequence {request.AfterSequence}" : "")}. Ctrl+C stops.");
                await foreach (var response in call.ResponseStream.ReadAllAsync(ctx.CancellationToken))
                {
                    ctx.Output.Print(response.Incident, w => w.WriteLine(IncidentLine(response.Incident)));
                    last = response.Incident.Sequence;
                }
            }
            catch (Exception ex) when (ctx.CancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                return ExitCodes.Ok;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                ctx.Output.Note($"The server ended the stream: {ex.Status.Detail}");
            }

            ctx.Output.Note(last is { } seen
                ? $"The stream ended; run 'alerts watch --after {seen}' to resume without missing an incident."
                : "The stream ended before any incident (the server may be shutting down); run 'alerts watch' again to resume.");
            return ExitCodes.Failed;
        }));
        return command;
    }

    private static Command List()
    {
        var from = TimeInput.Option("--from", "Only incidents at or after this instant. Default: all.");
        var to = TimeInput.Option("--to", "Only incidents before this instant. Default: all.");
        var minSeverity = SeverityOption();
        var pageSize = new Option<int>("--page-size") { Description = "Incidents per page. Default: the server's (100)." };
        var pageToken = new Option<string?>("--page-token") { Description = "Continue from a previous page." };
        var all = new Option<bool>("--all") { Description = "Read every page." };
        var command = new Command("list", "List stored incidents, acknowledged ones included, one line each.") { from, to, minSeverity, pageSize, pageToken, all };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var first = new PageRequest { PageSize = parse.GetValue(pageSize), PageToken = parse.GetValue(pageToken) ?? "" };
            var (incidents, next) = await Pages.ReadAsync<Incident>(first, parse.GetValue(all), async page =>
            {
                var request = new ListIncidentsRequest
                {
                    From = TimeInput.Value(parse, from),
                    To = TimeInput.Value(parse, to),
                    MinSeverity = ParseSeverity(parse.GetValue(minSeverity)),
                    PageSize = page.PageSize,
                    PageToken = page.PageToken,
                };
                var response = await ctx.Alerts.ListIncidentsAsync(request, ctx.Call);
                return (response.Incidents, response.NextPageToken);
            });

            ctx.Output.Print(new ListIncidentsResponse { Incidents = { incidents }, NextPageToken = next }, w =>
            {
                var table = new TextTable("INCIDENT", "TIME", "SEVERITY", "RULE", "ACCOUNT", "COLLECTOR", "ACKNOWLEDGED", "SUMMARY");
                foreach (var i in incidents)
                {
                    table.Add(i.IncidentId, Output.Time(i.OccurredAt), Words.Severities.Name(i.Severity), i.RuleId, i.AccountId, i.CollectorId,
                        Output.Time(i.AcknowledgedAt), i.Summary);
                }

                table.WriteTo(w);
            });
            if (!ctx.Output.IsJson && next.Length > 0)
            {
                ctx.Output.Note($"More incidents follow: --page-token {next}, or --all.");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Acknowledge()
    {
        var id = new Argument<string>("incident-id") { Description = "The incident's id, as shown by 'alerts watch' or 'alerts list'." };
        var note = new Option<string?>("--note") { Description = "What was done about it, kept with the incident." };
        var command = new Command("ack", "Acknowledge an incident: records who (the key) and when, with an optional note.") { id, note };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new AcknowledgeIncidentRequest { IncidentId = parse.GetValue(id), Note = parse.GetValue(note) ?? "" };
            var incident = (await ctx.Alerts.AcknowledgeIncidentAsync(request, ctx.Call)).Incident;
            ctx.Output.Print(incident, w => TextTable.WriteProperties(w,
                ("incident", incident.IncidentId),
                ("time", Output.Time(incident.OccurredAt)),
                ("severity", Words.Severities.Name(incident.Severity)),
                ("rule", incident.RuleId),
                ("citation", incident.Citation),
                ("account", incident.AccountId),
                ("collector", incident.CollectorId),
                ("summary", incident.Summary),
                ("events", string.Join(", ", incident.EventIds)),
                ("acknowledged", Output.Time(incident.AcknowledgedAt)),
                ("acknowledged by", incident.AcknowledgedBy)));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>One line per incident, so a watch log can be grepped and tailed.</summary>
    private static string IncidentLine(Incident i) =>
        string.Join("  ", new[]
        {
            Output.Time(i.OccurredAt),
            $"seq={i.Sequence}",
            Words.Severities.Name(i.Severity).ToUpperInvariant(),
            i.RuleId,
            $"account={i.AccountId}",
            i.CollectorId.Length > 0 ? $"collector={i.CollectorId}" : "",
            $"incident={i.IncidentId}",
            i.Summary,
            i.EventIds.Count > 0 ? $"events={string.Join(",", i.EventIds)}" : "",
        }.Where(s => s.Length > 0));

    private static Option<string?> SeverityOption() =>
        new Option<string?>("--min-severity") { Description = "Only incidents at or above this severity. Default: all." }
            .AcceptOnlyFromAmong([.. Words.Severities.Words]);

    private static Severity ParseSeverity(string? word) => word is null ? Severity.Unspecified : Words.Severities.Parse(word);
}
