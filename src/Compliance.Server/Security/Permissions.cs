using System.Collections.Frozen;
using System.Text;
using FlagType = Compliance.Api.V1.FlagType;

namespace Compliance.Server.Security;

/// <summary>The roles a key can have, as a set, so that one table row can name several.</summary>
[Flags]
internal enum Access
{
    None = 0,
    CollectionSystem = 1,
    ComplianceOfficer = 2,
    Auditor = 4,
    Administrator = 8,
    /// <summary>The operator's key: creates lenders and their first keys, reads no lender's records.</summary>
    PlatformAdministrator = 16,
}

/// <summary>Who may change a flag of a type: set it, clear it, and whether a clear must give its reason.</summary>
internal sealed record FlagRule(Access Set, Access Clear, bool ReasonToClear);

/// <summary>
/// Who may call what: one row per RPC, and one row per flag type for who may set and clear it. Every call to a
/// compliance service passes <see cref="RpcPermissionHandler"/>, which looks the method up here; a method without a
/// row is refused, and a test walks every method of the contract and fails on a missing row. A new RPC is one line.
/// </summary>
internal static class Permissions
{
    private const Access System = Access.CollectionSystem;
    private const Access Officer = Access.ComplianceOfficer;
    private const Access Auditor = Access.Auditor;
    private const Access Admin = Access.Administrator;
    private const Access Platform = Access.PlatformAdministrator;

    /// <summary>Every role of a lender.</summary>
    private const Access AnyLenderRole = System | Officer | Auditor | Admin;
    /// <summary>The systems that place contacts and keep the registry.</summary>
    private const Access Writers = System | Admin;
    /// <summary>People who oversee conduct: they read complaints, evidence, incidents and scores.</summary>
    private const Access Oversight = Officer | Auditor | Admin;
    /// <summary>People who act on what oversight finds.</summary>
    private const Access Officers = Officer | Admin;

    /// <summary>Roles allowed per RPC, by "package.Service/Method".</summary>
    public static readonly FrozenDictionary<string, Access> Rpcs = new Dictionary<string, Access>
    {
        ["compliance.v1.RegistryService/UpsertAccount"] = Writers,
        ["compliance.v1.RegistryService/GetAccount"] = AnyLenderRole,
        ["compliance.v1.RegistryService/ListAccounts"] = AnyLenderRole,
        ["compliance.v1.RegistryService/SetFlag"] = System | Officers,
        ["compliance.v1.RegistryService/ClearFlag"] = System | Officers,
        ["compliance.v1.RegistryService/UpsertAgency"] = Writers,
        ["compliance.v1.RegistryService/ListAgencies"] = AnyLenderRole,
        ["compliance.v1.RegistryService/UpsertCollector"] = Writers,
        ["compliance.v1.RegistryService/GetCollector"] = AnyLenderRole,
        ["compliance.v1.RegistryService/ListCollectors"] = AnyLenderRole,
        ["compliance.v1.RegistryService/GetLender"] = AnyLenderRole,
        ["compliance.v1.RegistryService/CreateLender"] = Platform,
        ["compliance.v1.RegistryService/CreateApiKey"] = Admin | Platform,
        ["compliance.v1.RegistryService/ListApiKeys"] = Admin,
        ["compliance.v1.RegistryService/RevokeApiKey"] = Admin,

        ["compliance.v1.ContactGateService/Authorize"] = Writers,
        ["compliance.v1.ContactGateService/Evaluate"] = AnyLenderRole,
        ["compliance.v1.ContactGateService/ReleaseReservation"] = Writers,
        ["compliance.v1.ContactGateService/GetDecision"] = AnyLenderRole,

        ["compliance.v1.EventIngestService/Stream"] = Writers,
        ["compliance.v1.EventIngestService/ImportHistory"] = Writers,

        ["compliance.v1.PolicyService/ListProfiles"] = AnyLenderRole | Platform,
        ["compliance.v1.PolicyService/GetProfile"] = AnyLenderRole | Platform,
        ["compliance.v1.PolicyService/GetPolicy"] = AnyLenderRole,
        ["compliance.v1.PolicyService/ListPolicyVersions"] = AnyLenderRole,
        ["compliance.v1.PolicyService/PutPolicy"] = Admin,
        ["compliance.v1.PolicyService/ValidatePolicy"] = Oversight,
        ["compliance.v1.PolicyService/PreviewPolicy"] = Officers,

        ["compliance.v1.AuditService/Verify"] = Oversight,
        ["compliance.v1.AuditService/RecordComplaint"] = Officers,
        ["compliance.v1.AuditService/GetComplaint"] = Oversight,
        ["compliance.v1.AuditService/ListComplaints"] = Oversight,
        ["compliance.v1.AuditService/UpdateComplaintStatus"] = Officers,
        ["compliance.v1.AuditService/ExportEvidence"] = Oversight,

        ["compliance.v1.AlertService/Watch"] = Oversight,
        ["compliance.v1.AlertService/ListIncidents"] = Oversight,
        ["compliance.v1.AlertService/AcknowledgeIncident"] = Officers,

        ["compliance.v1.ReportService/ListReports"] = Oversight,
        ["compliance.v1.ReportService/GetReport"] = Oversight,
        ["compliance.v1.ReportService/RunReport"] = Oversight,
        ["compliance.v1.ReportService/GetReportProgress"] = Oversight,
        ["compliance.v1.ReportService/GetConductScores"] = Oversight,
        ["compliance.v1.ReportService/GetReportSettings"] = Oversight,
        ["compliance.v1.ReportService/UpdateReportSettings"] = Admin,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Who may set and clear each flag type. Flags that protect the consumer (cease, attorney, ...) may be set by
    /// the systems that hear of them, but lifting one lifts a legal bar to contact: only an officer or administrator
    /// may, giving a reason, and never with a date in the past.
    /// </summary>
    public static readonly FrozenDictionary<FlagType, FlagRule> Flags = new Dictionary<FlagType, FlagRule>
    {
        [FlagType.AttorneyRepresented] = new(System | Officers, Officers, ReasonToClear: true),
        [FlagType.CeaseCommunication] = new(System | Officers, Officers, ReasonToClear: true),
        [FlagType.Dispute] = new(System | Officers, Officers, ReasonToClear: false),
        [FlagType.ConsentToContact] = new(System | Officers, System | Officers, ReasonToClear: false),
        [FlagType.MediumOptOut] = new(System | Officers, Officers, ReasonToClear: false),
        [FlagType.WorkplaceContactProhibited] = new(System | Officers, Officers, ReasonToClear: false),
        [FlagType.Bankruptcy] = new(System | Officers, Officers, ReasonToClear: true),
        [FlagType.LegalHold] = new(System | Officers, Officers, ReasonToClear: true),
        [FlagType.ConsentOutsideHours] = new(System | Officers, System | Officers, ReasonToClear: false),
        [FlagType.ThirdPartyRefused] = new(System | Officers, Officers, ReasonToClear: false),
        [FlagType.ThirdPartyConsent] = new(System | Officers, System | Officers, ReasonToClear: false),
        [FlagType.WrongNumber] = new(System | Officers, Officers, ReasonToClear: false),
        [FlagType.ValidationNoticeSent] = new(System | Officers, Officers, ReasonToClear: false),
        [FlagType.LocationAnswerIncomplete] = new(System | Officers, System | Officers, ReasonToClear: false),
        [FlagType.WrittenElectronicConsent] = new(System | Officers, System | Officers, ReasonToClear: false),
    }.ToFrozenDictionary();

    /// <summary>The role of a key (its claim) as an <see cref="Access"/> value; None for anything unknown.</summary>
    public static Access ToAccess(string? role) => role switch
    {
        Roles.CollectionSystem => Access.CollectionSystem,
        Roles.ComplianceOfficer => Access.ComplianceOfficer,
        Roles.Auditor => Access.Auditor,
        Roles.Administrator => Access.Administrator,
        Roles.PlatformAdministrator => Access.PlatformAdministrator,
        _ => Access.None,
    };

    /// <summary>Whether a role may call a method ("package.Service/Method"); a method without a row is refused.</summary>
    public static bool MayCall(string method, string? role) =>
        Rpcs.TryGetValue(method, out var allowed) && (allowed & ToAccess(role)) != Access.None;

    /// <summary>The flag rule of a type; a type without a row may be neither set nor cleared.</summary>
    public static FlagRule FlagRuleOf(FlagType type) =>
        Flags.TryGetValue(type, out var rule) ? rule : new FlagRule(Access.None, Access.None, ReasonToClear: true);

    /// <summary>The two tables as the README shows them.</summary>
    public static string Markdown()
    {
        Access[] columns = [System, Officer, Auditor, Admin, Platform];
        var text = new StringBuilder();
        text.Append("| RPC | collection system | compliance officer | auditor | administrator | platform administrator |\n");
        text.Append("|---|:-:|:-:|:-:|:-:|:-:|\n");
        foreach (var (method, allowed) in Rpcs.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            text.Append($"| `{method["compliance.v1.".Length..]}` |");
            foreach (var column in columns)
            {
                text.Append((allowed & column) != 0 ? " yes |" : " |");
            }

            text.Append('\n');
        }

        text.Append("\n| flag type | set by | cleared by |\n|---|---|---|\n");
        foreach (var (type, rule) in Flags.OrderBy(f => (int)f.Key))
        {
            text.Append($"| `{type}` | {Names(rule.Set)} | {Names(rule.Clear)}{(rule.ReasonToClear ? ", with a reason, not backdated" : "")} |\n");
        }

        return text.ToString();
    }

    private static string Names(Access access) => string.Join(", ", Enum.GetValues<Access>()
        .Where(a => a != Access.None && (access & a) != 0)
        .Select(a => a switch
        {
            Access.CollectionSystem => "collection system",
            Access.ComplianceOfficer => "compliance officer",
            Access.Auditor => "auditor",
            Access.Administrator => "administrator",
            _ => "platform administrator",
        }));
}
