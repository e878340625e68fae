using System.CommandLine;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance flag ...</c>: facts that change what contact is allowed (attorney, cease, consent, opt-out, ...).</summary>
internal static class FlagCommands
{
    public static Command Create()
    {
        var command = new Command("flag", "Set and clear an account's flags. Cleared flags stay in the account's history as evidence.");
        command.Subcommands.Add(Set());
        command.Subcommands.Add(WrongNumber());
        command.Subcommands.Add(Clear());
        return command;
    }

    private static Command Set()
    {
        var account = new Argument<string>("account-id") { Description = "The account to flag." };
        var type = new Option<string>("--type", "-t") { Description = "What the flag records.", Required = true }
            .AcceptOnlyFromAmong([.. Words.FlagTypes.Words]);
        var channel = new Option<string?>("--channel") { Description = "The channel an opt-out or consent is limited to (required for opt-out)." }
            .AcceptOnlyFromAmong([.. Words.Channels.Words]);
        var party = new Option<string?>("--party") { Description = "The party a third-party refusal or consent is about (its party id).", HelpName = "party-id" };
        var contactPoint = new Option<string?>("--contact-point") { Description = "The contact point the flag is limited to (its id).", HelpName = "contact-point-id" };
        var from = TimeInput.Option("--from", "When the flag takes effect. Default: now.");
        var expires = TimeInput.Option("--expires", "When the flag ends by itself, for example the end of the day a consent names. Default: never (until cleared).");
        var windowStart = TimeInput.Option("--window-start",
            "For a consent to calls: the start of the day or time the consumer named ('call back on Monday'). --from is when consent was given; "
            + "the window never runs past the seventh day from then (12 CFR 1006.14(b)(3)(i)). Default: from when it was given.");
        var source = new Option<string?>("--source") { Description = "For a wrong number: who said the number is not the consumer's." }
            .AcceptOnlyFromAmong([.. Words.WrongNumberSources.Words]);
        var delivery = new Option<string?>("--delivery") { Description = "For a validation notice: how it was provided." }
            .AcceptOnlyFromAmong([.. Words.ValidationDeliveries.Words]);
        var note = new Option<string?>("--note") { Description = "Free text kept with the flag, for example where the notice came from." };
        var command = new Command("set",
            "Set a flag on an account, effective now or from --from. Prints the stored flag. An opt-out applies to every debt of the borrower; "
            + "a consent covers calls about this debt only.")
        {
            account, type, channel, party, contactPoint, from, expires, windowStart, source, delivery, note,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var flag = new Flag
            {
                Type = Words.FlagTypes.Parse(parse.GetRequiredValue(type)),
                Channel = parse.GetValue(channel) is { } c ? Words.Channels.Parse(c) : Channel.Unspecified,
                PartyId = parse.GetValue(party) ?? "",
                ContactPointId = parse.GetValue(contactPoint) ?? "",
                EffectiveFrom = TimeInput.Value(parse, from),
                ExpiresAt = TimeInput.Value(parse, expires),
                ConsentWindowStart = TimeInput.Value(parse, windowStart),
                WrongNumberSource = parse.GetValue(source) is { } s ? Words.WrongNumberSources.Parse(s) : WrongNumberSource.Unspecified,
                ValidationDelivery = parse.GetValue(delivery) is { } d ? Words.ValidationDeliveries.Parse(d) : ValidationDelivery.Unspecified,
                Note = parse.GetValue(note) ?? "",
            };
            var response = await ctx.Registry.SetFlagAsync(new SetFlagRequest { AccountId = parse.GetValue(account), Flag = flag }, ctx.Call);
            ctx.Output.Print(response.Flag, w => WriteFlags(w, [response.Flag]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command WrongNumber()
    {
        var account = new Argument<string>("account-id") { Description = "The account that lists the number." };
        var contactPoint = new Option<string>("--contact-point") { Description = "The number (its contact point id) that is not the consumer's.", Required = true, HelpName = "contact-point-id" };
        var source = new Option<string>("--source") { Description = "Who said so.", Required = true }
            .AcceptOnlyFromAmong([.. Words.WrongNumberSources.Words]);
        var since = TimeInput.Option("--since",
            "Since when the number has not been the consumer's: for a wrong number, when it was first dialled or earlier; for a reassignment, "
            + "the date the check gives. Calls to it since then count toward none of the consumer's limits and are third-party contacts. Default: now.");
        var note = new Option<string?>("--note") { Description = "Free text kept with the record." };
        var command = new Command("wrong-number",
            "Record that a number of the account is not the consumer's (a wrong number or a reassigned one; comment 14(b)(2)(i)-3). "
            + "The record is a ledger entry; 'flag clear' ends it.")
        {
            account, contactPoint, source, since, note,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var flag = new Flag
            {
                Type = FlagType.WrongNumber,
                ContactPointId = parse.GetRequiredValue(contactPoint),
                WrongNumberSource = Words.WrongNumberSources.Parse(parse.GetRequiredValue(source)),
                EffectiveFrom = TimeInput.Value(parse, since),
                Note = parse.GetValue(note) ?? "",
            };
            var response = await ctx.Registry.SetFlagAsync(new SetFlagRequest { AccountId = parse.GetValue(account), Flag = flag }, ctx.Call);
            ctx.Output.Print(response.Flag, w => WriteFlags(w, [response.Flag]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Clear()
    {
        var account = new Argument<string>("account-id") { Description = "The flagged account." };
        var flagId = new Argument<string>("flag-id") { Description = "The flag's id, as shown by 'flag set' or 'account get'." };
        var at = TimeInput.Option("--at", "When the flag ends. Default: now.");
        var command = new Command("clear", "End a flag. It stays in the account's history with the time it was cleared.") { account, flagId, at };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new ClearFlagRequest
            {
                AccountId = parse.GetValue(account),
                FlagId = parse.GetValue(flagId),
                ClearedAt = TimeInput.Value(parse, at),
            };
            var response = await ctx.Registry.ClearFlagAsync(request, ctx.Call);
            ctx.Output.Print(response.Flag, w => WriteFlags(w, [response.Flag]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>What a flag's own fields add: a consent's window start, a wrong number's source, a validation notice's delivery.</summary>
    private static string Detail(Flag f) => f.Type switch
    {
        FlagType.ConsentToContact when f.ConsentWindowStart is not null => $"window from {Output.Time(f.ConsentWindowStart)}",
        FlagType.WrongNumber => Words.WrongNumberSources.Name(f.WrongNumberSource) is { Length: > 0 } s ? $"source {s}" : "",
        FlagType.ValidationNoticeSent => Words.ValidationDeliveries.Name(f.ValidationDelivery),
        _ => "",
    };

    /// <summary>Where a flag stands at <paramref name="now"/>: pending, active, expired or cleared.</summary>
    public static string Status(Flag flag, DateTimeOffset now) => flag switch
    {
        { ClearedAt: { } cleared } when cleared.ToDateTimeOffset() <= now => "cleared",
        { ExpiresAt: { } expires } when expires.ToDateTimeOffset() <= now => "expired",
        { EffectiveFrom: { } from } when from.ToDateTimeOffset() > now => "pending",
        _ => "active",
    };

    public static void WriteFlags(TextWriter writer, IEnumerable<Flag> flags)
    {
        var now = DateTimeOffset.UtcNow;
        var table = new TextTable("FLAG", "TYPE", "STATUS", "CHANNEL", "SCOPE", "FROM", "EXPIRES", "CLEARED", "DETAIL", "NOTE");
        foreach (var f in flags)
        {
            var scope = f.ContactPointId.Length > 0 ? $"{f.PartyId} {f.ContactPointId}".Trim() : f.PartyId;
            table.Add(f.FlagId, Words.FlagTypes.Name(f.Type), Status(f, now), Words.Channels.Name(f.Channel), scope,
                Output.Time(f.EffectiveFrom), Output.Time(f.ExpiresAt), Output.Time(f.ClearedAt), Detail(f), f.Note);
        }

        table.WriteTo(writer);
    }
}
