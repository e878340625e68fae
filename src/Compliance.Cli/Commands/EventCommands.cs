using System.CommandLine;
using System.Globalization;
using Compliance.Api.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance events ...</c>: collection events sent to the monitor, which scores each one and raises incidents.</summary>
internal static class EventCommands
{
    private const int MaxBatch = 10_000;
    private const int MaxBlast = 100;

    public static Command Create()
    {
        var command = new Command(
            "events",
            "Send collection events (calls, messages, visits, consumer requests) to be scored and recorded, import past ones, "
            + "or run the address-book blast demo.");
        command.Subcommands.Add(Send());
        command.Subcommands.Add(Import());
        command.Subcommands.Add(CallIn());
        command.Subcommands.Add(ValidationNotice());
        command.Subcommands.Add(SimulateBlast());
        return command;
    }

    private static Command CallIn()
    {
        var account = new Option<string>("--account") { Description = "The account the consumer called about.", Required = true, HelpName = "account-id" };
        var collector = new Option<string?>("--collector") { Description = "The collector who took the call (optional).", HelpName = "collector-id" };
        var contactPoint = new Option<string?>("--contact-point") { Description = "The consumer's number the call came from (its id); default: the consumer.", HelpName = "contact-point-id" };
        var noConversation = new Option<bool>("--no-conversation") { Description = "The call ended before the collector spoke with the consumer about the debt." };
        var duration = new Option<int>("--seconds") { Description = "How long the call lasted.", DefaultValueFactory = _ => 0 };
        var at = TimeInput.Option("--at", "When the call came in. Default: now.");
        var id = new Option<string?>("--id") { Description = "The event id (idempotency key). Default: generated.", HelpName = "event-id" };
        var command = new Command("call-in",
            "Record a call the consumer placed to the collector. A conversation the consumer started is a conversation for the wait after a "
            + "conversation (no call for 7 days, the day of the call being day 1) but not a placed call: it counts toward no call cap "
            + "(comment 14(b)(2)(i)-1.ii).")
        {
            account, collector, contactPoint, noConversation, duration, at, id,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var e = NewEvent(parse, id, account, collector, at, Channel.VoiceCall);
            e.InboundCall = new InboundCall
            {
                CallId = e.EventId,
                Conversation = !parse.GetValue(noConversation),
                Duration = Duration.FromTimeSpan(TimeSpan.FromSeconds(parse.GetValue(duration))),
            };
            if (parse.GetValue(contactPoint) is { Length: > 0 } point)
            {
                e.Destination = new Destination { ContactPointId = point };
            }

            return Summarize(ctx, await StreamAsync(ctx, [e], 1));
        }));
        return command;
    }

    private static Command ValidationNotice()
    {
        var account = new Option<string>("--account") { Description = "The account (debt) the notice is about.", Required = true, HelpName = "account-id" };
        var collector = new Option<string?>("--collector") { Description = "The collector who sent it (optional).", HelpName = "collector-id" };
        var delivery = new Option<string>("--delivery") { Description = "How it was provided.", DefaultValueFactory = _ => "written" }
            .AcceptOnlyFromAmong([.. Words.ValidationDeliveries.Words]);
        var channel = new Option<string?>("--channel") { Description = "The channel it went by (letter, email, call for an oral one)." }
            .AcceptOnlyFromAmong([.. Words.Channels.Words]);
        var note = new Option<string?>("--note") { Description = "Free text kept with the record, for example the letter's reference." };
        var at = TimeInput.Option("--at", "When it was sent. Default: now.");
        var id = new Option<string?>("--id") { Description = "The event id (idempotency key). Default: generated.", HelpName = "event-id" };
        var command = new Command("validation-notice",
            "Record that the validation notice was sent, or given orally (12 CFR 1006.34(a)(1)). Under US-REGF a notice more than 5 days after "
            + "the initial communication is a violation and raises an incident; a missing one shows with the first event after the deadline.")
        {
            account, collector, delivery, channel, note, at, id,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var e = NewEvent(parse, id, account, collector, at, parse.GetValue(channel) is { } c ? Words.Channels.Parse(c) : Channel.Letter);
            e.ValidationNoticeSent = new ValidationNoticeSent
            {
                Delivery = Words.ValidationDeliveries.Parse(parse.GetRequiredValue(delivery)),
                Note = parse.GetValue(note) ?? "",
            };
            return Summarize(ctx, await StreamAsync(ctx, [e], 1));
        }));
        return command;
    }

    private static Event NewEvent(System.CommandLine.ParseResult parse, Option<string?> id, Option<string> account, Option<string?> collector,
        Option<DateTimeOffset?> at, Channel channel) => new()
    {
        EventId = parse.GetValue(id) ?? $"cli-{Guid.NewGuid():N}",
        AccountId = parse.GetRequiredValue(account),
        CollectorId = parse.GetValue(collector) ?? "",
        OccurredAt = Timestamp.FromDateTimeOffset(parse.GetValue(at) ?? DateTimeOffset.UtcNow),
        Channel = channel,
    };

    private static Command Send()
    {
        var file = FileOption();
        var batch = BatchOption();
        var command = new Command(
            "send",
            "Send events over the live stream. Prints one line per acknowledgement (event, status, rules broken, risk score, or why it was rejected) "
            + "and a summary. Resending is safe: known event ids come back as duplicate with their first verdict. Exit code 2 when any event was rejected.")
        {
            file, batch,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var events = ReadEvents(parse.GetRequiredValue(file));
            var counts = await StreamAsync(ctx, events, parse.GetValue(batch));
            return Summarize(ctx, counts);
        }));
        return command;
    }

    private static Command Import()
    {
        var file = FileOption();
        var batch = BatchOption();
        var command = new Command(
            "import",
            "Load past events from a previous system so rolling limits are right from the first day. They are scored and counted but raise no alerts. "
            + "Prints the rejected events and a summary. Exit code 2 when any event was rejected.")
        {
            file, batch,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var events = ReadEvents(parse.GetRequiredValue(file));
            using var call = ctx.Events.ImportHistory(ctx.StreamCall);
            foreach (var chunk in events.Chunk(parse.GetValue(batch)))
            {
                await call.RequestStream.WriteAsync(new ImportHistoryRequest { Events = { chunk } }, ctx.CancellationToken);
            }

            await call.RequestStream.CompleteAsync();
            var response = await call.ResponseAsync;
            ctx.Output.Print(response, w =>
            {
                foreach (var ack in response.Rejections)
                {
                    w.WriteLine(AckLine(ack));
                }
            });
            if (response.Rejected > response.Rejections.Count)
            {
                ctx.Output.Note($"The server lists only the first {response.Rejections.Count} rejections.");
            }

            return Summarize(ctx, new AckCounts(response.Imported, response.Duplicates, response.Rejected), "imported");
        }));
        return command;
    }

    private static Command SimulateBlast()
    {
        var account = new Option<string>("--account") { Description = "The registered account the messages are about.", Required = true, HelpName = "account-id" };
        var collector = new Option<string>("--collector")
        {
            Description = "The collector who sends them. Default: collector-1, the demo lender's collector.",
            DefaultValueFactory = _ => "collector-1",
            HelpName = "collector-id",
        };
        var count = new Option<int>("--count") { Description = $"How many different numbers to text (1 to {MaxBlast}).", DefaultValueFactory = _ => 6 };
        count.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > MaxBlast)
            {
                result.AddError($"--count must be between 1 and {MaxBlast}.");
            }
        });
        var country = new Option<string>("--country")
        {
            Description = "Whose fictional numbers to use: US +1 202 555 01xx, CN +86 139 0000 00xx.",
            DefaultValueFactory = _ => "US",
        }.AcceptOnlyFromAmong("US", "CN");
        var command = new Command(
            "simulate-blast",
            "Demo for compliance officers: sends SMS message_sent events about one account to --count different numbers that are not registered on it "
            + "(fictional numbers), as a collector working through the borrower's address book would. The text is neutral (\"Please ask <name> to call us back.\"). "
            + "Under the default policy (rule BASE.address-book-blast), more than 3 distinct third parties within 24 hours raise a critical incident: "
            + "run 'compliance alerts watch' in another terminal to see it. Prints the acknowledgements.")
        {
            account, collector, count, country,
        };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var accountId = parse.GetRequiredValue(account);
            // Reading the account first fails early on a typo and gives the message a name, as a real one would have.
            var registered = (await ctx.Registry.GetAccountAsync(new GetAccountRequest { AccountId = accountId }, ctx.Call)).Account;
            var name = registered.BorrowerName.Length > 0 ? registered.BorrowerName : "the account holder";
            var now = DateTimeOffset.UtcNow;
            // A fresh prefix per run, so a second run is new events rather than duplicates of the first.
            var run = now.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture);
            var events = Enumerable.Range(0, parse.GetValue(count)).Select(i => new Event
            {
                EventId = $"blast-{run}-{i + 1:00}",
                AccountId = accountId,
                CollectorId = parse.GetRequiredValue(collector),
                OccurredAt = Timestamp.FromDateTimeOffset(now),
                Channel = Channel.Sms,
                Destination = new Destination { PhoneNumber = FictionalNumber(parse.GetRequiredValue(country), i) },
                Purpose = ContactPurpose.PassMessage,
                MessageSent = new MessageSent { Body = $"Please ask {name} to call us back." },
            }).ToList();

            ctx.Output.Note($"Texting {events.Count} numbers not registered on {accountId} as {events[0].CollectorId}; "
                + "under the default policy, more than 3 distinct third parties within 24 hours raise a BASE.address-book-blast incident ('compliance alerts watch' shows it).");
            var counts = await StreamAsync(ctx, events, MaxBatch);
            return Summarize(ctx, counts);
        }));
        return command;
    }

    /// <summary>Numbers reserved for fiction (US 555-01xx) or unassigned test-style ones, so the demo never texts a real person.</summary>
    private static string FictionalNumber(string country, int i) => country == "CN" ? $"+86139000000{i:00}" : $"+120255501{i:00}";

    private static Option<string> FileOption() => new("--file", "-f")
    {
        Description = "The events, one compliance.v1.Event per line in protobuf JSON (camelCase or snake_case field names); blank lines are skipped. "
            + "'-' reads standard input.",
        Required = true,
        HelpName = "path",
    };

    private static Option<int> BatchOption()
    {
        var option = new Option<int>("--batch") { Description = "Events per request.", DefaultValueFactory = _ => 100, HelpName = "size" };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > MaxBatch)
            {
                result.AddError($"--batch must be between 1 and {MaxBatch}.");
            }
        });
        return option;
    }

    /// <summary>Reads the whole file first, so a bad line stops the command before anything is sent.</summary>
    private static List<Event> ReadEvents(string path)
    {
        var name = FileInput.Name(path);
        using var reader = FileInput.OpenText(path);
        var events = new List<Event>();
        var line = 0;
        for (var text = reader.ReadLine(); text is not null; text = reader.ReadLine())
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            try
            {
                events.Add(JsonParser.Default.Parse<Event>(text));
            }
            catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException)
            {
                throw new UsageException($"{name} line {line} is not a compliance.v1.Event in protobuf JSON: {ex.Message}");
            }
        }

        return events.Count > 0 ? events : throw new UsageException($"{name} has no events.");
    }

    private sealed record AckCounts(long Accepted, long Duplicates, long Rejected);

    /// <summary>Sends the events in batches while printing acknowledgements as they come back; the server answers each batch in order.</summary>
    private static async Task<AckCounts> StreamAsync(ClientContext ctx, IReadOnlyCollection<Event> events, int batch)
    {
        using var call = ctx.Events.Stream(ctx.StreamCall);
        var acks = ReadAcksAsync(ctx, call.ResponseStream);
        try
        {
            foreach (var chunk in events.Chunk(batch))
            {
                await call.RequestStream.WriteAsync(new StreamRequest { Events = { chunk } }, ctx.CancellationToken);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server ended the call while events were still going out; the reader has its status.
        }

        var counts = await acks;
        var missing = events.Count - (counts.Accepted + counts.Duplicates + counts.Rejected);
        if (missing > 0)
        {
            ctx.Output.Note($"{missing} events were not acknowledged; send the file again (acknowledged events come back as duplicates).");
        }

        return counts;
    }

    private static async Task<AckCounts> ReadAcksAsync(ClientContext ctx, IAsyncStreamReader<StreamResponse> responses)
    {
        long accepted = 0, duplicates = 0, rejected = 0;
        await foreach (var response in responses.ReadAllAsync(ctx.CancellationToken))
        {
            foreach (var ack in response.Acks)
            {
                ctx.Output.Print(ack, w => w.WriteLine(AckLine(ack)));
                switch (ack.Status)
                {
                    case AckStatus.Accepted:
                        accepted++;
                        break;
                    case AckStatus.Duplicate:
                        duplicates++;
                        break;
                    default:
                        rejected++;
                        break;
                }
            }
        }

        return new AckCounts(accepted, duplicates, rejected);
    }

    private static string AckLine(EventAck ack) =>
        string.Join("  ", new[]
        {
            ack.EventId.Length > 0 ? ack.EventId : "(no id)",
            Words.AckStatuses.Name(ack.Status),
            ack.Status == AckStatus.Rejected ? "" : $"risk={ack.RiskScore.ToString("0.#", CultureInfo.InvariantCulture)}",
            ack.Violations.Count > 0 ? $"violations={string.Join(",", ack.Violations.Select(v => v.Rule?.RuleId))}" : "",
            ack.ErrorMessage.Length > 0 ? $"error={ack.ErrorField}: {ack.ErrorMessage}" : "",
        }.Where(s => s.Length > 0));

    private static int Summarize(ClientContext ctx, AckCounts counts, string accepted = "accepted")
    {
        ctx.Output.Note($"{counts.Accepted} {accepted}, {counts.Duplicates} duplicate, {counts.Rejected} rejected.");
        return counts.Rejected > 0 ? ExitCodes.Rejected : ExitCodes.Ok;
    }
}
