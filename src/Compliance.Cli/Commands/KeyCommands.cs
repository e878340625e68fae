using System.CommandLine;
using Compliance.Api.V1;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance key ...</c>: API keys. Secrets are shown once, at creation; the server keeps only hashes.</summary>
internal static class KeyCommands
{
    public static Command Create()
    {
        var command = new Command("key", "Issue, list and revoke API keys.");
        command.Subcommands.Add(CreateKey());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Revoke());
        return command;
    }

    private static Command CreateKey()
    {
        // Same name as the global --role, which it hides here: on this command --role is the new key's role,
        // and the caller's key is picked with --as (or --key).
        var role = new Option<string>("--role") { Description = "What the new key may do.", Required = true }
            .AcceptOnlyFromAmong([.. Words.ApiRoles.Words]);
        var lender = new Option<string?>("--lender")
        {
            Description = "The lender the key is for (platform administrator only). Default: the caller's own lender.",
            HelpName = "lender-id",
        };
        var name = new Option<string?>("--name") { Description = "A name that says who uses the key, for example 'dialer eu-west'." };
        var command = new Command(
            "create",
            "Issue an API key and print its secret, once. Uses the administrator key; with --lender, the platform administrator key.")
        {
            role, lender, name,
        };
        var defaultRole = (ParseResult parse) => parse.GetValue(lender) is null ? KeyRole.Administrator : KeyRole.PlatformAdmin;
        command.SetAction(CommandRunner.Run(defaultRole, async (parse, ctx) =>
        {
            var request = new CreateApiKeyRequest
            {
                Role = Words.ApiRoles.Parse(parse.GetRequiredValue(role)),
                LenderId = parse.GetValue(lender) ?? "",
                DisplayName = parse.GetValue(name) ?? "",
            };
            var response = await ctx.Registry.CreateApiKeyAsync(request, ctx.Call);
            ctx.Output.Print(response, w =>
            {
                WriteKeys(w, [response.Key]);
                w.WriteLine();
                w.WriteLine($"secret  {response.Secret}");
            });
            ctx.Output.Note("The secret is shown only now; store it. Send it as --key or COMPLIANCE_API_KEY.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List the lender's API keys (ids and roles, never secrets), revoked ones included.");
        command.SetAction(CommandRunner.Run(KeyRole.Administrator, async (_, ctx) =>
        {
            var (keys, _) = await Pages.ReadAllAsync<ApiKey>(async page =>
            {
                var response = await ctx.Registry.ListApiKeysAsync(new ListApiKeysRequest { Page = page }, ctx.Call);
                return (response.Keys, response.NextPageToken);
            });
            ctx.Output.Print(new ListApiKeysResponse { Keys = { keys } }, w => WriteKeys(w, keys));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var keyId = new Argument<string>("key-id") { Description = "The key's id (the part after 'cmp_' in its secret, as shown by 'key list')." };
        var command = new Command("revoke", "Revoke an API key. Other server replicas may accept it for up to their key cache time.") { keyId };
        command.SetAction(CommandRunner.Run(KeyRole.Administrator, async (parse, ctx) =>
        {
            var response = await ctx.Registry.RevokeApiKeyAsync(new RevokeApiKeyRequest { KeyId = parse.GetValue(keyId) }, ctx.Call);
            ctx.Output.Print(response.Key, w => WriteKeys(w, [response.Key]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteKeys(TextWriter writer, IEnumerable<ApiKey> keys)
    {
        var table = new TextTable("KEY", "LENDER", "ROLE", "NAME", "CREATED", "REVOKED");
        foreach (var k in keys)
        {
            table.Add(k.KeyId, k.LenderId, Words.ApiRoles.Name(k.Role), k.DisplayName, Output.Time(k.CreatedAt), Output.Time(k.RevokedAt));
        }

        table.WriteTo(writer);
    }
}
