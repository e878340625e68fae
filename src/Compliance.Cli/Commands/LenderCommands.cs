using System.CommandLine;
using Compliance.Api.V1;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance lender ...</c>: the tenants. Every record belongs to exactly one lender.</summary>
internal static class LenderCommands
{
    public static Command Create()
    {
        var command = new Command("lender", "Create lenders (platform administrator) and show the caller's own lender.");
        command.Subcommands.Add(CreateLender());
        command.Subcommands.Add(Show());
        return command;
    }

    private static Command CreateLender()
    {
        var id = new Option<string>("--id") { Description = "The new lender's id.", Required = true };
        var name = new Option<string>("--name") { Description = "The lender's display name.", Required = true };
        var country = new Option<string>("--country") { Description = "ISO 3166-1 alpha-2 country the lender operates from, for example US or CN.", Required = true };
        var command = new Command(
            "create",
            "Create a lender. Needs the platform administrator key; then issue its first key with 'key create --lender ID --role administrator'.")
        {
            id, name, country,
        };
        command.SetAction(CommandRunner.Run(KeyRole.PlatformAdmin, async (parse, ctx) =>
        {
            var lender = new Lender
            {
                LenderId = parse.GetRequiredValue(id),
                DisplayName = parse.GetRequiredValue(name),
                CountryCode = parse.GetRequiredValue(country).ToUpperInvariant(),
            };
            var response = await ctx.Registry.CreateLenderAsync(new CreateLenderRequest { Lender = lender }, ctx.Call);
            ctx.Output.Print(response.Lender, w => WriteLender(w, response.Lender));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show()
    {
        var command = new Command("show", "Show the lender the API key belongs to.");
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (_, ctx) =>
        {
            var response = await ctx.Registry.GetLenderAsync(new GetLenderRequest(), ctx.Call);
            ctx.Output.Print(response.Lender, w => WriteLender(w, response.Lender));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteLender(TextWriter writer, Lender lender) =>
        TextTable.WriteProperties(writer,
            ("lender", lender.LenderId),
            ("name", lender.DisplayName),
            ("country", lender.CountryCode),
            ("created", Output.Time(lender.CreatedAt)));
}
