using System.CommandLine;

namespace Compliance.Cli;

/// <summary>Options every command accepts: where the server is, which key to send and how to print.</summary>
internal static class GlobalOptions
{
    public const string EndpointVariable = "COMPLIANCE_ENDPOINT";
    public const string KeyVariable = "COMPLIANCE_API_KEY";
    public const string DataDirectoryVariable = "COMPLIANCE__DATADIRECTORY";
    public const string DefaultEndpoint = "http://localhost:5080";

    public static readonly Option<string?> Endpoint = new("--endpoint")
    {
        Description = $"Server address. Default: ${EndpointVariable}, else the endpoint in the key file, else {DefaultEndpoint}.",
        HelpName = "url",
        Recursive = true,
    };

    public static readonly Option<string?> Key = new("--key")
    {
        Description = $"API key sent as 'authorization: Bearer <key>'. Default: ${KeyVariable}, else a key from the key file (see --role).",
        HelpName = "api-key",
        Recursive = true,
    };

    public static readonly Option<string?> Role = new Option<string?>("--role", "--as")
    {
        Description = $"Which key of the key file to use when no --key is given: {Words.KeyRoles.List}. Each command has its own default "
            + "(account, gate and events commands: collection-system; alerts, policy and scores: compliance-officer; "
            + "audit and report: auditor, except audit complaint record and status and report run: compliance-officer; "
            + "key commands, policy put and report settings --time-zone: administrator; lender create: platform-admin). "
            + "On 'key create', --role is the new key's role; use --as there.",
        HelpName = "role",
        Recursive = true,
    }.AcceptOnlyFromAmong([.. Words.KeyRoles.Words]);

    public static readonly Option<string?> DataDirectory = new("--data-dir")
    {
        Description = $"The server's data directory, where it writes {KeyFile.FileName} in Development. "
            + $"Default: ${DataDirectoryVariable}, else the local application data folder's 'compliance'.",
        HelpName = "path",
        Recursive = true,
    };

    public static readonly Option<string> Output = new Option<string>("--output", "-o")
    {
        Description = "How to print results: aligned tables for people, protobuf JSON for scripts.",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    }.AcceptOnlyFromAmong("table", "json");

    public static void AddTo(RootCommand root)
    {
        root.Options.Add(Endpoint);
        root.Options.Add(Key);
        root.Options.Add(Role);
        root.Options.Add(DataDirectory);
        root.Options.Add(Output);
    }
}
