using System.CommandLine;
using Compliance.Api.V1;
using Google.Protobuf;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance account ...</c>: accounts with their contact points and parties.</summary>
internal static class AccountCommands
{
    public static Command Create()
    {
        var command = new Command("account", "Register, show and list accounts (one debt of one borrower) with their contact points and parties.");
        command.Subcommands.Add(Upsert());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(List());
        return command;
    }

    private static Command Upsert()
    {
        var file = new Option<string?>("--file", "-f")
        {
            Description = "The account as protobuf JSON (a compliance.v1.Account message); '-' reads standard input. Not combined with the field options.",
            HelpName = "path",
        };
        var id = new Option<string?>("--id") { Description = "The lender's id for the debt." };
        var borrowerId = new Option<string?>("--borrower-id") { Description = "The lender's id for the borrower; debts of one borrower share it. Default: the account id." };
        var name = new Option<string?>("--name") { Description = "The borrower's name." };
        var country = new Option<string?>("--country") { Description = "ISO 3166-1 alpha-2 country, for example US or CN." };
        var region = new Option<string?>("--region") { Description = "ISO 3166-2 subdivision, for example US-MA or CN-GD." };
        var timeZone = new Option<string?>("--time-zone") { Description = "IANA time zone, for example America/New_York: one indicator of where the borrower is, with the region and the numbers' zones (a contact must suit all of them)." };
        var zoneConfirmed = new Option<bool>("--time-zone-confirmed") { Description = "The borrower confirmed --time-zone: it alone decides local time." };
        var postalCode = new Option<string?>("--postal-code") { Description = "Postal code of the address; selects local rules such as New York City's (US-NYC)." };
        var phones = new Option<string[]>("--phone")
        {
            Description = $"A phone number of the borrower, optionally with its use ({Words.ContactUses.List}): \"+14155550100:mobile\". Repeatable.",
            HelpName = "number[:use]",
        };
        var emails = new Option<string[]>("--email") { Description = "An e-mail address of the borrower. Repeatable.", HelpName = "address" };
        var parties = new Option<string[]>("--party")
        {
            Description = $"Another person on the account as role:name[:phone[:use]], for example \"guarantor:Bob Lee:+14155550111\". Roles: {Words.PartyRoles.List}. Repeatable.",
            HelpName = "role:name:phone",
        };
        var profiles = new Option<string[]>("--profile") { Description = "A profile to apply in addition to those the location selects, for example US-MA. Repeatable.", HelpName = "profile" };
        Option[] fields = [id, borrowerId, name, country, region, postalCode, timeZone, zoneConfirmed, phones, emails, parties, profiles];

        var command = new Command(
            "upsert",
            "Create or replace an account. Contact points and parties not given are removed; flags are kept. Prints the stored account (numbers masked).");
        command.Options.Add(file);
        foreach (var field in fields)
        {
            command.Options.Add(field);
        }

        command.Validators.Add(result =>
        {
            var hasFields = fields.Any(f => result.GetResult(f) is not null);
            if (result.GetResult(file) is not null && hasFields)
            {
                result.AddError("Give either --file or the field options (--id, --name, ...), not both.");
            }
            else if (result.GetResult(file) is null && result.GetResult(id) is null)
            {
                result.AddError("--id is required (or give the whole account with --file).");
            }
        });

        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var account = parse.GetValue(file) is { } path ? ReadAccount(path) : new Account
            {
                AccountId = parse.GetValue(id) ?? "",
                BorrowerId = parse.GetValue(borrowerId) ?? "",
                BorrowerName = parse.GetValue(name) ?? "",
                Location = new Location
                {
                    CountryCode = parse.GetValue(country) ?? "",
                    Region = parse.GetValue(region) ?? "",
                    TimeZone = parse.GetValue(timeZone) ?? "",
                    TimeZoneConfirmed = parse.GetValue(zoneConfirmed),
                    PostalCode = parse.GetValue(postalCode) ?? "",
                },
                ContactPoints =
                {
                    (parse.GetValue(phones) ?? []).Select(ContactInput.Phone),
                    (parse.GetValue(emails) ?? []).Select(ContactInput.Email),
                },
                Parties = { (parse.GetValue(parties) ?? []).Select(ContactInput.Party) },
                Profiles = { parse.GetValue(profiles) ?? [] },
            };

            var response = await ctx.Registry.UpsertAccountAsync(new UpsertAccountRequest { Account = account }, ctx.Call);
            ctx.Output.Note($"{(response.Created ? "Created" : "Updated")} account '{response.Account.AccountId}' (revision {response.Account.Revision}).");
            ctx.Output.Print(response.Account, w => WriteAccount(w, response.Account));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Get()
    {
        var id = new Argument<string>("account-id") { Description = "The lender's id for the debt." };
        var command = new Command("get", "Show an account: location, contact points (masked), parties and flags, current and past.") { id };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var response = await ctx.Registry.GetAccountAsync(new GetAccountRequest { AccountId = parse.GetValue(id) }, ctx.Call);
            ctx.Output.Print(response.Account, w => WriteAccount(w, response.Account));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var borrowerId = new Option<string?>("--borrower-id") { Description = "Only the accounts of this borrower." };
        var pageSize = new Option<int>("--page-size") { Description = "Accounts per page. Default: the server's (100)." };
        var pageToken = new Option<string?>("--page-token") { Description = "Continue from a previous page." };
        var all = new Option<bool>("--all") { Description = "Read every page." };
        var command = new Command("list", "List accounts, one line each.") { borrowerId, pageSize, pageToken, all };
        command.SetAction(CommandRunner.Run(KeyRole.CollectionSystem, async (parse, ctx) =>
        {
            var first = new PageRequest { PageSize = parse.GetValue(pageSize), PageToken = parse.GetValue(pageToken) ?? "" };
            var (accounts, next) = await Pages.ReadAsync<Account>(first, parse.GetValue(all), async page =>
            {
                var request = new ListAccountsRequest { Page = page, BorrowerId = parse.GetValue(borrowerId) ?? "" };
                var response = await ctx.Registry.ListAccountsAsync(request, ctx.Call);
                return (response.Accounts, response.NextPageToken);
            });

            var now = DateTimeOffset.UtcNow;
            ctx.Output.Print(new ListAccountsResponse { Accounts = { accounts }, NextPageToken = next }, w =>
            {
                var table = new TextTable("ID", "BORROWER", "LOCATION", "CONTACT POINTS", "PARTIES", "ACTIVE FLAGS", "REVISION");
                foreach (var a in accounts)
                {
                    table.Add(a.AccountId, a.BorrowerId, Location(a.Location), $"{a.ContactPoints.Count}", $"{a.Parties.Count}",
                        $"{a.Flags.Count(f => FlagCommands.Status(f, now) == "active")}", $"{a.Revision}");
                }

                table.WriteTo(w);
            });
            if (!ctx.Output.IsJson && next.Length > 0)
            {
                ctx.Output.Note($"More accounts follow: --page-token {next}, or --all.");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Account ReadAccount(string path)
    {
        var text = FileInput.ReadAllText(path);
        try
        {
            return JsonParser.Default.Parse<Account>(text);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException)
        {
            throw new UsageException($"{FileInput.Name(path)} is not a compliance.v1.Account in protobuf JSON: {ex.Message}");
        }
    }

    private static string Location(Location? location) =>
        location is null ? "" : string.Join(" ", new[] { location.CountryCode, location.Region }.Where(s => s.Length > 0));

    private static void WriteAccount(TextWriter w, Account a)
    {
        TextTable.WriteProperties(w,
            ("account", a.AccountId),
            ("borrower", $"{a.BorrowerId}  {a.BorrowerName}".TrimEnd()),
            ("location", $"{Location(a.Location)}  {a.Location?.PostalCode}  {a.Location?.TimeZone}{(a.Location?.TimeZoneConfirmed == true ? " (confirmed by the borrower)" : "")}".Trim()),
            ("profiles", string.Join(", ", a.Profiles)),
            ("revision", $"{a.Revision}"),
            ("created", Output.Time(a.CreatedAt)),
            ("updated", Output.Time(a.UpdatedAt)));

        var points = new TextTable("CONTACT POINT", "OF", "KIND", "USE", "VALUE", "INVALID");
        foreach (var c in a.ContactPoints)
        {
            points.Add(c.ContactPointId, "borrower", Words.ContactKinds.Name(c.Kind), Words.ContactUses.Name(c.Use), c.Masked, c.Invalid ? "invalid" : "");
        }

        foreach (var p in a.Parties)
        {
            foreach (var c in p.ContactPoints)
            {
                points.Add(c.ContactPointId, p.PartyId, Words.ContactKinds.Name(c.Kind), Words.ContactUses.Name(c.Use), c.Masked, c.Invalid ? "invalid" : "");
            }
        }

        if (points.Count > 0)
        {
            w.WriteLine();
            points.WriteTo(w);
        }

        if (a.Parties.Count > 0)
        {
            var parties = new TextTable("PARTY", "ROLE", "NAME", "RELATED");
            foreach (var p in a.Parties)
            {
                parties.Add(p.PartyId, Words.PartyRoles.Name(p.Role), p.DisplayName, Output.YesNo(p.Related));
            }

            w.WriteLine();
            parties.WriteTo(w);
        }

        if (a.Flags.Count > 0)
        {
            w.WriteLine();
            FlagCommands.WriteFlags(w, a.Flags);
        }
    }
}
