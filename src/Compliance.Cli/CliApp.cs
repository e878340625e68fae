using System.CommandLine;
using System.CommandLine.Parsing;
using Compliance.Cli.Commands;

namespace Compliance.Cli;

/// <summary>Assembles the command tree of the <c>compliance</c> tool.</summary>
internal static class CliApp
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand(
            "Command-line client of the Compliance service: checks contacts at the gate, sends collection events, watches incidents, scores the conduct of collectors, agencies and accounts, "
            + "manages conduct-limit policies, verifies the tamper-evident record, keeps complaints and exports evidence, and registers accounts, flags, agencies, collectors, lenders and API keys. "
            + "Without --key it uses the development key file the server writes into its data directory.");
        GlobalOptions.AddTo(root);
        root.Subcommands.Add(HealthCommand.Create());
        root.Subcommands.Add(AccountCommands.Create());
        root.Subcommands.Add(FlagCommands.Create());
        root.Subcommands.Add(AgencyCommands.Create());
        root.Subcommands.Add(CollectorCommands.Create());
        root.Subcommands.Add(LenderCommands.Create());
        root.Subcommands.Add(KeyCommands.Create());
        root.Subcommands.Add(GateCommands.Create());
        root.Subcommands.Add(EventCommands.Create());
        root.Subcommands.Add(AlertCommands.Create());
        root.Subcommands.Add(PolicyCommands.Create());
        root.Subcommands.Add(AuditCommands.Create());
        root.Subcommands.Add(ScoreCommands.Create());
        root.Subcommands.Add(ReportCommands.Create());
        return root;
    }

    /// <summary>
    /// Prints one "error:" line per mistake and a pointer to the command's help, rather than the whole help text.
    /// Returns 2, like every other request the caller must fix (1 is kept for "the server could not be reached").
    /// </summary>
    public static int ReportUsageErrors(ParseResult parseResult)
    {
        foreach (var error in parseResult.Errors)
        {
            Console.Error.WriteLine($"error: {error.Message}");
        }

        var names = new List<string>();
        for (SymbolResult? result = parseResult.CommandResult; result is CommandResult command; result = command.Parent)
        {
            names.Insert(0, command.Command.Name);
        }

        Console.Error.WriteLine($"See '{string.Join(' ', names)} --help'.");
        return ExitCodes.Rejected;
    }
}

/// <summary>Process exit codes.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The server could not be reached, failed, or is not serving.</summary>
    public const int Failed = 1;

    /// <summary>The request was refused: bad usage, invalid argument, not found, not permitted.</summary>
    public const int Rejected = 2;

    /// <summary>The gate denied the contact (gate check), so scripts can branch on allow and deny without parsing output.</summary>
    public const int Denied = 3;

    /// <summary>audit verify found the record altered: a hash chain link or signed checkpoint does not match.</summary>
    public const int NotValid = 4;
}
