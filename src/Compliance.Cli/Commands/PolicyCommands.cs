using System.CommandLine;
using System.Globalization;
using Compliance.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace Compliance.Cli.Commands;

/// <summary><c>compliance policy ...</c>: the built-in profiles (rule sets with citations) and the lender's versioned policy.</summary>
internal static class PolicyCommands
{
    public static Command Create()
    {
        var command = new Command(
            "policy",
            "Read the built-in conduct-limit profiles and their citations; show, validate and store the lender's policy, "
            + "which selects profiles, tightens parameters, blocks dates and puts rules in shadow mode.");
        command.Subcommands.Add(Profiles());
        command.Subcommands.Add(Profile());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Versions());
        command.Subcommands.Add(Validate());
        command.Subcommands.Add(Put());
        return command;
    }

    private static Command Profiles()
    {
        var command = new Command("profiles", "List the built-in profiles (one law or guideline each) and where they apply by default.");
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (_, ctx) =>
        {
            var response = await ctx.Policy.ListProfilesAsync(new ListProfilesRequest(), ctx.Call);
            ctx.Output.Print(response, w =>
            {
                var table = new TextTable("PROFILE", "TITLE", "APPLIES TO", "RULES", "VERSION");
                foreach (var p in response.Profiles)
                {
                    table.Add(p.ProfileId, p.Title, string.Join(" ", p.AppliesTo), $"{p.Rules.Count}", p.Version);
                }

                table.WriteTo(w);
            });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Profile()
    {
        var id = new Argument<string>("profile-id") { Description = "The profile, for example US-REGF, CN or BASE (see 'policy profiles')." };
        var command = new Command("profile", "Show a profile's rules with their citations, parameters and whether they ship in shadow mode.") { id };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var response = await ctx.Policy.GetProfileAsync(new GetProfileRequest { ProfileId = parse.GetValue(id) }, ctx.Call);
            var p = response.Profile;
            ctx.Output.Print(p, w =>
            {
                TextTable.WriteProperties(w,
                    ("profile", p.ProfileId),
                    ("title", p.Title),
                    ("applies to", string.Join(" ", p.AppliesTo) + (p.Required ? " (required: a policy cannot exclude it)" : "")),
                    ("version", p.Version),
                    ("records kept", p.Records is { } records ? $"{records.KeepDays} days after the last activity on the debt ({records.Citation})" : "-"),
                    ("risk weights", p.Scoring is { } weights
                        ? string.Create(CultureInfo.InvariantCulture, $"critical {weights.Critical}, high {weights.High}, medium {weights.Medium}, low {weights.Low}; shadow rules {weights.ShadowShare:0.##} of that")
                        : "-"));
                var rules = new TextTable("RULE", "CITATION", "PARAMETERS", "SHADOW", "DESCRIPTION");
                foreach (var r in p.Rules)
                {
                    var parameters = string.Join(" ", r.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
                    rules.Add(r.RuleId, r.Citation, parameters, r.Shadow ? "shadow" : "", r.Description);
                }

                w.WriteLine();
                rules.WriteTo(w);
            });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show()
    {
        var at = TimeInput.Option("--at", "Show the policy in force at this instant instead of now.");
        var command = new Command("show", "Show the lender's policy in force: its version, since when, who stored it, and the document.") { at };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var request = new GetPolicyRequest { At = TimeInput.Value(parse, at) };
            var policy = (await ctx.Policy.GetPolicyAsync(request, ctx.Call)).Policy;
            ctx.Output.Print(policy, w =>
            {
                TextTable.WriteProperties(w,
                    ("version", policy.Version),
                    // The built-in default was never stored, so it has no meaningful effective time.
                    ("effective", policy.Document.Length > 0 ? Output.Time(policy.EffectiveAt) : ""),
                    ("created", Output.Time(policy.CreatedAt)),
                    ("created by", policy.CreatedBy));
                w.WriteLine();
                w.WriteLine(policy.Document.Length > 0 ? policy.Document.TrimEnd() : "(no policy stored: the built-in profiles apply by the account's location)");
            });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Versions()
    {
        var command = new Command("versions", "List every stored version of the lender's policy, scheduled ones included.");
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (_, ctx) =>
        {
            var response = await ctx.Policy.ListPolicyVersionsAsync(new ListPolicyVersionsRequest(), ctx.Call);
            ctx.Output.Print(response, w => WritePolicies(w, response.Policies));
            if (!ctx.Output.IsJson && response.Policies.Count == 0)
            {
                ctx.Output.Note("No policy stored yet: the built-in profiles apply by the account's location.");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Validate()
    {
        var file = new Argument<string>("file") { Description = "The policy document (YAML); '-' reads standard input." };
        var command = new Command(
            "validate",
            "Check a policy document without storing it. Prints each problem as path: message. Exit code 0 when valid, 2 when not.")
        {
            file,
        };
        command.SetAction(CommandRunner.Run(KeyRole.ComplianceOfficer, async (parse, ctx) =>
        {
            var path = parse.GetValue(file)!;
            var response = await ctx.Policy.ValidatePolicyAsync(new ValidatePolicyRequest { Document = FileInput.ReadAllText(path) }, ctx.Call);
            ctx.Output.Print(response, w =>
            {
                if (response.Valid)
                {
                    w.WriteLine($"{FileInput.Name(path)}: valid");
                }

                foreach (var problem in response.Problems)
                {
                    w.WriteLine($"{problem.Path}: {problem.Message}");
                }
            });
            if (!response.Valid)
            {
                ctx.Output.Note($"{FileInput.Name(path)}: {response.Problems.Count} problem{(response.Problems.Count == 1 ? "" : "s")}; nothing was stored.");
            }

            return response.Valid ? ExitCodes.Ok : ExitCodes.Rejected;
        }));
        return command;
    }

    private static Command Put()
    {
        var file = new Argument<string>("file") { Description = "The policy document (YAML); '-' reads standard input." };
        var effective = TimeInput.Option("--effective", "When the new version takes effect; a future time schedules it. Default: now.");
        var command = new Command(
            "put",
            "Store a new version of the lender's policy. An invalid document is rejected whole and the policy in force stays. Uses the administrator key.")
        {
            file, effective,
        };
        command.SetAction(CommandRunner.Run(KeyRole.Administrator, async (parse, ctx) =>
        {
            var request = new PutPolicyRequest
            {
                Document = FileInput.ReadAllText(parse.GetValue(file)!),
                EffectiveAt = TimeInput.Value(parse, effective),
            };
            var policy = (await ctx.Policy.PutPolicyAsync(request, ctx.Call)).Policy;
            ctx.Output.Print(policy, w => WritePolicies(w, [policy]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WritePolicies(TextWriter writer, IEnumerable<Policy> policies)
    {
        var table = new TextTable("VERSION", "EFFECTIVE", "CREATED", "CREATED BY");
        foreach (var p in policies)
        {
            table.Add(p.Version, Output.Time(p.EffectiveAt), Output.Time(p.CreatedAt), p.CreatedBy);
        }

        table.WriteTo(writer);
    }
}
