using System.CommandLine;
using Compliance.Api.V1;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance agency ...</c>: the collection agencies working for the lender (its own team is one too).</summary>
internal static class AgencyCommands
{
    public static Command Create()
    {
        var command = new Command("agency", "Register and list the collection agencies that work for the lender.");
        command.Subcommands.Add(Upsert());
        command.Subcommands.Add(List());
        return command;
    }

    private static Command Upsert()
    {
        var id = new Option<string>("--id") { Description = "The agency's id.", Required = true };
        var name = new Option<string>("--name") { Description = "The agency's display name.", Required = true };
        var inactive = new Option<bool>("--inactive") { Description = "Mark the agency as no longer working for the lender." };
        var command = new Command("upsert", "Create or replace an agency.") { id, name, inactive };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var agency = new Agency { AgencyId = parse.GetRequiredValue(id), DisplayName = parse.GetRequiredValue(name), Active = !parse.GetValue(inactive) };
            var response = await ctx.Registry.UpsertAgencyAsync(new UpsertAgencyRequest { Agency = agency }, ctx.Call);
            ctx.Output.Print(response.Agency, w => WriteAgencies(w, [response.Agency]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List the lender's agencies.");
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (_, ctx) =>
        {
            var (agencies, _) = await Pages.ReadAllAsync<Agency>(async page =>
            {
                var response = await ctx.Registry.ListAgenciesAsync(new ListAgenciesRequest { Page = page }, ctx.Call);
                return (response.Agencies, response.NextPageToken);
            });
            ctx.Output.Print(new ListAgenciesResponse { Agencies = { agencies } }, w => WriteAgencies(w, agencies));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteAgencies(TextWriter writer, IEnumerable<Agency> agencies)
    {
        var table = new TextTable("AGENCY", "NAME", "ACTIVE");
        foreach (var a in agencies)
        {
            table.Add(a.AgencyId, a.DisplayName, Output.YesNo(a.Active));
        }

        table.WriteTo(writer);
    }
}
