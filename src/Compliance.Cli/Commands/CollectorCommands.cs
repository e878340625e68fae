using System.CommandLine;
using Compliance.Api.V1;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance collector ...</c>: the people and systems that contact borrowers for the lender.</summary>
internal static class CollectorCommands
{
    public static Command Create()
    {
        var command = new Command("collector", "Register and list collectors: the people and systems (AI voice, automated messaging) that contact borrowers.");
        command.Subcommands.Add(Upsert());
        command.Subcommands.Add(List());
        return command;
    }

    private static Command Upsert()
    {
        var id = new Option<string>("--id") { Description = "The collector's id.", Required = true };
        var agency = new Option<string>("--agency") { Description = "The id of the agency the collector works for.", Required = true, HelpName = "agency-id" };
        var name = new Option<string>("--name") { Description = "The collector's display name.", Required = true };
        var kind = new Option<string>("--kind")
        {
            Description = "Who or what places the contact: a person, an AI voice agent, or automated messaging or dialling.",
            DefaultValueFactory = _ => "human",
        }.AcceptOnlyFromAmong([.. Words.CollectorKinds.Words]);
        var inactive = new Option<bool>("--inactive") { Description = "Mark the collector as no longer working." };
        var command = new Command("upsert", "Create or replace a collector.") { id, agency, name, kind, inactive };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var collector = new Collector
            {
                CollectorId = parse.GetRequiredValue(id),
                AgencyId = parse.GetRequiredValue(agency),
                DisplayName = parse.GetRequiredValue(name),
                Kind = Words.CollectorKinds.Parse(parse.GetRequiredValue(kind)),
                Active = !parse.GetValue(inactive),
            };
            var response = await ctx.Registry.UpsertCollectorAsync(new UpsertCollectorRequest { Collector = collector }, ctx.Call);
            ctx.Output.Print(response.Collector, w => WriteCollectors(w, [response.Collector]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var agency = new Option<string?>("--agency") { Description = "Only the collectors of this agency.", HelpName = "agency-id" };
        var command = new Command("list", "List the lender's collectors.") { agency };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var agencyId = parse.GetValue(agency) ?? "";
            var (collectors, _) = await Pages.ReadAllAsync<Collector>(async page =>
            {
                var response = await ctx.Registry.ListCollectorsAsync(new ListCollectorsRequest { Page = page, AgencyId = agencyId }, ctx.Call);
                return (response.Collectors, response.NextPageToken);
            });
            ctx.Output.Print(new ListCollectorsResponse { Collectors = { collectors } }, w => WriteCollectors(w, collectors));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteCollectors(TextWriter writer, IEnumerable<Collector> collectors)
    {
        var table = new TextTable("COLLECTOR", "AGENCY", "NAME", "KIND", "ACTIVE");
        foreach (var c in collectors)
        {
            table.Add(c.CollectorId, c.AgencyId, c.DisplayName, Words.CollectorKinds.Name(c.Kind),
                c.InactiveSince is null ? Output.YesNo(c.Active) : $"no, since {Output.Time(c.InactiveSince)}");
        }

        table.WriteTo(writer);
    }
}
