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
        var expires = TimeInput.Option("--expires", "When the flag ends by itself, for example a consent's expiry. Default: never (until cleared).");
        var note = new Option<string?>("--note") { Description = "Free text kept with the flag, for example where the notice came from." };
        var command = new Command("set", "Set a flag on an account, effective now or from --from. Prints the stored flag.")
        {
            account, type, channel, party, contactPoint, from, expires, note,
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
        var reason = new Option<string>("--reason") { Description = "Why the flag ends (required for attorney, cease, bankruptcy and legal-hold flags)." };
        var command = new Command("clear", "End a flag. It stays in the account's history with the time it was cleared.") { account, flagId, at, reason };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new ClearFlagRequest
            {
                AccountId = parse.GetValue(account),
                FlagId = parse.GetValue(flagId),
                ClearedAt = TimeInput.Value(parse, at),
                Reason = parse.GetValue(reason) ?? "",
            };
            var response = await ctx.Registry.ClearFlagAsync(request, ctx.Call);
            ctx.Output.Print(response.Flag, w => WriteFlags(w, [response.Flag]));
            return ExitCodes.Ok;
        }));
        return command;
    }

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
        var table = new TextTable("FLAG", "TYPE", "STATUS", "CHANNEL", "SCOPE", "FROM", "EXPIRES", "CLEARED", "NOTE");
        foreach (var f in flags)
        {
            var scope = f.ContactPointId.Length > 0 ? $"{f.PartyId} {f.ContactPointId}".Trim() : f.PartyId;
            table.Add(f.FlagId, Words.FlagTypes.Name(f.Type), Status(f, now), Words.Channels.Name(f.Channel), scope,
                Output.Time(f.EffectiveFrom), Output.Time(f.ExpiresAt), Output.Time(f.ClearedAt), f.Note);
        }

        table.WriteTo(writer);
    }
}
