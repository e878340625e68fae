using System.CommandLine;
using System.Globalization;
using System.IO.Compression;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance audit ...</c>: the tamper-evident record, complaints about conduct, and evidence bundles that answer them.</summary>
internal static class AuditCommands
{
    public static Command Create()
    {
        var command = new Command(
            "audit",
            "Verify that the lender's record (decisions, events, flags, policy versions) is unaltered, keep complaints with their answer due dates, "
            + "and export the evidence for an account as a zip. Uses the auditor key, except where a command says otherwise.");
        command.Subcommands.Add(Verify());
        command.Subcommands.Add(Complaints());
        command.Subcommands.Add(Export());
        return command;
    }

    private static Command Verify()
    {
        var from = TimeInput.Option("--from", "Only entries recorded at or after this instant. Default: from the first.");
        var to = TimeInput.Option("--to", "Only entries recorded before this instant. Default: up to now.");
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "A file of checkpoints you kept outside the service: its witness file (checkpoints.witness.jsonl), or lines of its log "
                + "that say \"Signed ledger checkpoint {...}\". The database must still extend every one of them ('-' reads standard input).",
            HelpName = "file",
        };
        var command = new Command(
            "verify",
            "Recompute the hash chain and check the recorded head, the signed checkpoints and every stored row the chain vouches for (accounts, "
            + "flags, policy versions, decisions, complaints, events). Prints VALID with what was checked, or NOT VALID with each finding: the entry, "
            + "or the table, row and what differs. Exit code 0 when valid, 4 when not valid, 2 when the request is refused, 1 when the server cannot be reached.")
        {
            from, to, checkpoint,
        };
        command.SetAction(CommandRunner.Run(KeyRole.Auditor, async (parse, ctx) =>
        {
            var request = new VerifyRequest
            {
                From = TimeInput.Value(parse, from),
                To = TimeInput.Value(parse, to),
            };
            if (parse.GetValue(checkpoint) is { } file)
            {
                request.Checkpoints.AddRange(KeptCheckpoints.Read(file));
            }

            // Verification reads the whole range, which can take longer than a registry call's deadline.
            var response = await ctx.Audit.VerifyAsync(request, ctx.StreamCall);
            ctx.Output.Print(response, w => w.WriteLine(response.Valid
                ? $"VALID: {response.EntriesChecked} {(response.EntriesChecked == 1 ? "entry" : "entries")} and {response.CheckpointsChecked} signed {(response.CheckpointsChecked == 1 ? "checkpoint" : "checkpoints")} checked"
                : response.FirstBadSequence > 0 ? $"NOT VALID at entry {response.FirstBadSequence}: {response.Reason}" : $"NOT VALID: {response.Reason}"));
            return response.Valid ? ExitCodes.Ok : ExitCodes.NotValid;
        }));
        return command;
    }

    private static Command Complaints()
    {
        var command = new Command(
            "complaint",
            "Record complaints about collection conduct (from a regulator's hotline, the borrower, a court) and track them until answered. "
            + "Complaints from the 12378 hotline are due 15 working days after receipt.");
        command.Subcommands.Add(Record());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Status());
        return command;
    }

    private static Command Record()
    {
        var account = new Option<string>("--account") { Description = "The account the complaint is about.", Required = true, HelpName = "account-id" };
        var source = new Option<string>("--source") { Description = "Where the complaint came from; hotline is a regulator's (12378 in China).", Required = true }
            .AcceptOnlyFromAmong([.. Words.ComplaintSources.Words]);
        var reference = new Option<string?>("--reference") { Description = "The reference number the source gave, for example 12378-2026-000123.", HelpName = "ref" };
        var received = TimeInput.Option("--received", "When the complaint was received. Default: now.");
        var text = new Option<string?>("--text") { Description = "What the complainant said." };
        var textFile = new Option<string?>("--text-file")
        {
            Description = "Read the complaint's text from a file instead; '-' reads standard input.",
            HelpName = "path",
        };
        var command = new Command(
            "record",
            "Record a complaint. Prints it with its id and when an answer is due. Uses the compliance officer key.")
        {
            account, source, reference, received, text, textFile,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(text) is not null && result.GetResult(textFile) is not null)
            {
                result.AddError("Give the text with --text or --text-file, not both.");
            }
        });
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var complaint = new Complaint
            {
                AccountId = parse.GetRequiredValue(account),
                Source = Words.ComplaintSources.Parse(parse.GetRequiredValue(source)),
                Reference = parse.GetValue(reference) ?? "",
                ReceivedAt = TimeInput.Value(parse, received),
                Text = parse.GetValue(textFile) is { } path ? FileInput.ReadAllText(path).TrimEnd() : parse.GetValue(text) ?? "",
            };
            var recorded = (await ctx.Audit.RecordComplaintAsync(new RecordComplaintRequest { Complaint = complaint }, ctx.Call)).Complaint;
            ctx.Output.Print(recorded, w => WriteComplaint(w, recorded));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<string>("complaint-id") { Description = "The complaint's id, as printed by 'audit complaint record' or 'audit complaint list'." };
        var command = new Command("show", "Show a complaint: when an answer is due, where it stands, where it came from and its text.") { id };
        command.SetAction(CommandRunner.Run(KeyRole.Auditor, async (parse, ctx) =>
        {
            var complaint = (await ctx.Audit.GetComplaintAsync(new GetComplaintRequest { ComplaintId = parse.GetValue(id) }, ctx.Call)).Complaint;
            ctx.Output.Print(complaint, w => WriteComplaint(w, complaint));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var status = StatusOption("Only complaints in this state. Default: all.", required: false);
        var pageSize = new Option<int>("--page-size") { Description = "Complaints per page. Default: the server's (100)." };
        var pageToken = new Option<string?>("--page-token") { Description = "Continue from a previous page." };
        var all = new Option<bool>("--all") { Description = "Read every page." };
        var command = new Command("list", "List complaints one line each, with when an answer is due and whether it is overdue.") { status, pageSize, pageToken, all };
        command.SetAction(CommandRunner.Run(KeyRole.Auditor, async (parse, ctx) =>
        {
            var first = new PageRequest { PageSize = parse.GetValue(pageSize), PageToken = parse.GetValue(pageToken) ?? "" };
            var (complaints, next) = await Pages.ReadAsync<Complaint>(first, parse.GetValue(all), async page =>
            {
                var request = new ListComplaintsRequest
                {
                    Status = parse.GetValue(status) is { } s ? Words.ComplaintStatuses.Parse(s) : ComplaintStatus.Unspecified,
                    PageSize = page.PageSize,
                    PageToken = page.PageToken,
                };
                var response = await ctx.Audit.ListComplaintsAsync(request, ctx.Call);
                return (response.Complaints, response.NextPageToken);
            });

            ctx.Output.Print(new ListComplaintsResponse { Complaints = { complaints }, NextPageToken = next }, w =>
            {
                var now = DateTimeOffset.UtcNow;
                var table = new TextTable("COMPLAINT", "ANSWER DUE", "STATUS", "SOURCE", "REFERENCE", "ACCOUNT", "RECEIVED");
                foreach (var c in complaints)
                {
                    table.Add(c.ComplaintId, Due(c, now), Words.ComplaintStatuses.Name(c.Status), Words.ComplaintSources.Name(c.Source), c.Reference, c.AccountId,
                        Output.Time(c.ReceivedAt));
                }

                table.WriteTo(w);
            });
            if (!ctx.Output.IsJson && complaints.Count == 0)
            {
                ctx.Output.Note("No complaints.");
            }

            if (!ctx.Output.IsJson && next.Length > 0)
            {
                ctx.Output.Note($"More complaints follow: --page-token {next}, or --all.");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Status()
    {
        var id = new Argument<string>("complaint-id") { Description = "The complaint to move." };
        var status = StatusOption("Where the complaint stands now.", required: true);
        var note = new Option<string?>("--note") { Description = "What was done, kept with the change, for example the answer's reference." };
        var command = new Command("status", "Move a complaint to another state; the change, who made it and the note are recorded. Uses the compliance officer key.")
        {
            id, status, note,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new UpdateComplaintStatusRequest
            {
                ComplaintId = parse.GetValue(id),
                Status = Words.ComplaintStatuses.Parse(parse.GetRequiredValue(status)!),
                Note = parse.GetValue(note) ?? "",
            };
            var complaint = (await ctx.Audit.UpdateComplaintStatusAsync(request, ctx.Call)).Complaint;
            ctx.Output.Print(complaint, w => WriteComplaint(w, complaint));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Export()
    {
        var account = new Option<string>("--account") { Description = "The account whose evidence to export.", Required = true, HelpName = "account-id" };
        var complaint = new Option<string?>("--complaint")
        {
            Description = "The complaint the export answers; its details go into the summary, and the period defaults to the 90 days before it was received.",
            HelpName = "complaint-id",
        };
        var from = TimeInput.Option("--from", "Start of the period. Default: 90 days before the complaint was received, else 90 days ago.");
        var to = TimeInput.Option("--to", "End of the period. Default: now.");
        var output = new Option<string?>("--out")
        {
            Description = "Where to write the zip: a file, or an existing directory to put it in under the server's name. "
                + "Default: the server's name (evidence-<account>-<time>.zip) in the current directory.",
            HelpName = "path",
        };
        var command = new Command(
            "export",
            "Download the evidence for an account and period as a zip: every decision, event, verdict, flag and policy version, the chain proof, "
            + "and summary.html, a readable timeline with masked numbers. The export itself is recorded. Prints the file's path and size and its entries.")
        {
            account, complaint, from, to, output,
        };
        command.SetAction(CommandRunner.Run(KeyRole.Auditor, async (parse, ctx) =>
        {
            var request = new ExportEvidenceRequest
            {
                AccountId = parse.GetRequiredValue(account),
                ComplaintId = parse.GetValue(complaint) ?? "",
                PeriodStart = TimeInput.Value(parse, from),
                PeriodEnd = TimeInput.Value(parse, to),
            };
            using var call = ctx.Audit.ExportEvidence(request, ctx.StreamCall);
            var path = await DownloadAsync(call.ResponseStream, parse.GetValue(output), ctx.CancellationToken);
            if (path is null)
            {
                await Console.Error.WriteLineAsync("error: the server ended the export without sending any data.");
                return ExitCodes.Failed;
            }

            var size = new FileInfo(path).Length;
            if (ReadEntries(path) is not { } entries)
            {
                await Console.Error.WriteLineAsync($"error: {path} is not a readable zip; the export may have been cut short. Run it again.");
                return ExitCodes.Failed;
            }

            ctx.Output.Print(ExportSummary(path, size, entries), w =>
            {
                w.WriteLine($"{path}  ({size.ToString("N0", CultureInfo.InvariantCulture)} bytes)");
                w.WriteLine();
                var table = new TextTable("ENTRY", "SIZE");
                foreach (var entry in entries)
                {
                    table.Add(entry.FullName, entry.Length.ToString(CultureInfo.InvariantCulture));
                }

                table.WriteTo(w);
            });
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Writes the chunks to a temporary file beside the target and moves it into place only when the stream has ended well,
    /// so an interrupted export never leaves a truncated zip under the real name. Null when the server sent nothing.
    /// </summary>
    private static async Task<string?> DownloadAsync(IAsyncStreamReader<ExportEvidenceResponse> chunks, string? output, CancellationToken cancellationToken)
    {
        var directory = output is null ? Directory.GetCurrentDirectory()
            : Directory.Exists(output) ? Path.GetFullPath(output)
            : Path.GetDirectoryName(Path.GetFullPath(output))!;
        if (!Directory.Exists(directory))
        {
            throw new UsageException($"cannot write {output}: the directory {directory} does not exist.");
        }

        var partial = Path.Combine(directory, $".evidence-{Guid.NewGuid():N}.part");
        string? target = null;
        try
        {
            await using (var file = OpenForWriting(partial))
            {
                await foreach (var response in chunks.ReadAllAsync(cancellationToken))
                {
                    // Only the file name: a server's name must not steer the file into another directory.
                    target ??= output is not null && !Directory.Exists(output)
                        ? Path.GetFullPath(output)
                        : Path.Combine(directory, SafeFileName(response.FileName));
                    await file.WriteAsync(response.Chunk.Memory, cancellationToken);
                }
            }

            if (target is null)
            {
                return null;
            }

            File.Move(partial, target, overwrite: true);
            return target;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write {target ?? output ?? directory}: {ex.Message}");
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private static FileStream OpenForWriting(string path)
    {
        try
        {
            return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write in {Path.GetDirectoryName(path)}: {ex.Message}");
        }
    }

    private static string SafeFileName(string name) =>
        Path.GetFileName(name) is { Length: > 0 } file && file.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && file is not ("." or "..")
            ? file
            : $"evidence-{DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.zip";

    /// <summary>The zip's entries; null when the file is not a zip.</summary>
    private static List<ZipArchiveEntry>? ReadEntries(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return [.. zip.Entries];
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The export's result for -o json; there is no response message for the whole download.</summary>
    private static Struct ExportSummary(string path, long size, IEnumerable<ZipArchiveEntry> entries) => new()
    {
        Fields =
        {
            ["path"] = Value.ForString(path),
            ["bytes"] = Value.ForNumber(size),
            ["entries"] = Value.ForList([.. entries.Select(e => Value.ForStruct(new Struct
            {
                Fields = { ["name"] = Value.ForString(e.FullName), ["bytes"] = Value.ForNumber(e.Length) },
            }))]),
        },
    };

    private static Option<string?> StatusOption(string description, bool required) =>
        new Option<string?>("--status") { Description = description, Required = required }
            .AcceptOnlyFromAmong([.. Words.ComplaintStatuses.Words]);

    /// <summary>The answer due date leads, because missing it is what a regulator sanctions.</summary>
    private static void WriteComplaint(TextWriter w, Complaint c)
    {
        w.WriteLine(c.DueAt is null ? "ANSWER DUE: no due date" : $"ANSWER DUE: {Due(c, DateTimeOffset.UtcNow)}");
        TextTable.WriteProperties(w,
            ("complaint", c.ComplaintId),
            ("status", Words.ComplaintStatuses.Name(c.Status)),
            ("source", Words.ComplaintSources.Name(c.Source)),
            ("reference", c.Reference),
            ("account", c.AccountId),
            ("received", Output.Time(c.ReceivedAt)));
        if (c.Text.Length > 0)
        {
            w.WriteLine();
            w.WriteLine(c.Text);
        }
    }

    /// <summary>"2026-12-18T09:00:00Z (in 14 days)", or OVERDUE while the complaint is still open; answered ones show only the date.</summary>
    private static string Due(Complaint c, DateTimeOffset now)
    {
        if (c.DueAt is null)
        {
            return "";
        }

        var time = Output.Time(c.DueAt);
        if (c.Status is ComplaintStatus.Answered or ComplaintStatus.Closed)
        {
            return time;
        }

        var left = c.DueAt.ToDateTimeOffset() - now;
        return left >= TimeSpan.Zero ? $"{time} (in {Span(left)})" : $"{time} (OVERDUE by {Span(-left)})";
    }

    /// <summary>Whole days, rounded (a due date 20 days 23 hours away reads "21 days"); hours and minutes under a day.</summary>
    private static string Span(TimeSpan span)
    {
        if (span.TotalDays < 1)
        {
            return $"{(int)span.TotalHours} h {span.Minutes} min";
        }

        var days = (int)Math.Round(span.TotalDays, MidpointRounding.AwayFromZero);
        return $"{days} day{(days == 1 ? "" : "s")}";
    }
}
